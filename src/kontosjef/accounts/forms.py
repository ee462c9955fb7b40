from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from kontosjef.accounts import queries
from kontosjef.accounts.models import Account
from kontosjef.people.models import User


class PortfolioFilterForm(forms.Form):
    """The portfolio's filters, read from the query string. Unknown or invalid values are left
    out rather than refused: a bookmarked link with a stale TAM still shows a page.

    A TAM sees their own portfolio only; everyone who reads more than one portfolio can narrow
    the list to one TAM or to the accounts without one."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": _("Account name")}),
    )
    tam = forms.ChoiceField(label=_("TAM"), required=False)
    tier = forms.ChoiceField(
        label=_("Tier"), required=False, choices=[("", _("All tiers")), *Account.Tier.choices]
    )
    band = forms.ChoiceField(
        label=_("Health"),
        required=False,
        choices=[("", _("Any health")), *queries.HEALTH_BAND_LABELS.items()],
    )
    items = forms.BooleanField(label=_("Only with open items"), required=False)
    trend = forms.TypedChoiceField(
        label=_("Trend over"),
        required=False,
        coerce=int,
        choices=[(30, _("30 days")), (90, _("90 days")), (365, _("365 days"))],
    )
    as_of = forms.DateField(
        label=_("As of"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[(s, s) for key in queries.PORTFOLIO_SORTS for s in (key, f"-{key}")],
        widget=forms.HiddenInput,
    )

    def __init__(self, data: Any, *, user: User) -> None:
        super().__init__(data, auto_id="portfolio-%s", label_suffix="")
        # A TAM reads only their own portfolio: there is no TAM to choose.
        self.mine = user.role == User.Role.TAM
        self.tams: dict[str, User] = {}
        if self.mine:
            del self.fields["tam"]
        else:
            self.tams = {str(t.pk): t for t in queries.portfolio_tams()}
            tam = cast(forms.ChoiceField, self.fields["tam"])
            tam.choices = [
                ("", _("All TAMs")),
                (queries.UNASSIGNED, _("Unassigned")),
                *((pk, str(t)) for pk, t in self.tams.items()),
            ]
        self.is_valid()

    @property
    def ordering(self) -> str:
        return self.cleaned_data.get("sort") or queries.DEFAULT_PORTFOLIO_SORT

    def portfolio_filter(self) -> queries.PortfolioFilter:
        data = self.cleaned_data
        tam = data.get("tam") or ""
        return queries.PortfolioFilter(
            tam=self.tams.get(tam),
            unassigned=tam == queries.UNASSIGNED,
            tier=data.get("tier") or "",
            band=data.get("band") or "",
            has_items=bool(data.get("items")),
            search=(data.get("q") or "").strip(),
            sort=self.ordering,
            trend_days=data.get("trend") or queries.TREND_WINDOWS[0],
        )
