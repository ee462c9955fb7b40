from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kontosjef.accounts import queries


@login_required
def portfolio(request: HttpRequest) -> HttpResponse:
    rows = queries.home_accounts(request.user)  # type: ignore[arg-type]
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/portfolio.html", {"page": page, "nav": "portfolio"})
