from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kontosjef.people.models import ApiToken, User
from kontosjef.people.services import IssuedApiToken, api_token_create, api_token_revoke
from kontosjef.web.forms import ApiTokenForm


# never_cache: the page that shows a new token's secret must not be kept by a browser or proxy.
@never_cache
@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The signed-in user's API tokens; a POST creates one and shows its secret once."""
    user: User = request.user  # type: ignore[assignment]
    form = ApiTokenForm(request.POST or None)
    issued: IssuedApiToken | None = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = api_token_create(by=user, now=timezone.now(), **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            form = ApiTokenForm()
    tokens = ApiToken.objects.filter(user=user)
    return render(
        request, "web/api_tokens.html", {"form": form, "tokens": tokens, "issued": issued}
    )


@require_POST
@login_required
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    api_token_revoke(token=token, by=request.user, now=timezone.now())  # type: ignore[arg-type]
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("api_tokens")
