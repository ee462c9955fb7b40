from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from kontosjef.ops import queries
from kontosjef.ops.schedule import load_schedule
from kontosjef.people.models import User


@login_required
def status(request: HttpRequest) -> HttpResponse:
    """Periodic jobs and worker/scheduler heartbeats, for managers and administrators."""
    user: User = request.user  # type: ignore[assignment]
    if not user.is_manager_or_admin:
        raise PermissionDenied
    report = queries.status_report(jobs=load_schedule(), now=timezone.now())
    return render(request, "ops/status.html", {"report": report})
