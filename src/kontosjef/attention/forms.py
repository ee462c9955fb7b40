from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kontosjef.accounts.models import Expectation
from kontosjef.attention import queries
from kontosjef.attention.models import AttentionItem
from kontosjef.people.models import User


class InboxFilterForm(forms.Form):
    """The inbox page's filters; the queue is offered to managers and administrators only."""

    queue = forms.ChoiceField(
        label=_("Queue"),
        required=False,
        choices=[
            (queries.QUEUE_INBOX, _("My inbox and the managers' queue")),
            (queries.QUEUE_MINE, _("Only mine")),
            (queries.QUEUE_MANAGERS, _("Managers' queue")),
            (queries.QUEUE_ALL, _("All active items")),
        ],
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *AttentionItem.Kind.choices]
    )
    severity = forms.ChoiceField(
        label=_("Severity"),
        required=False,
        choices=[("", _("All severities")), *Expectation.Severity.choices],
    )
    account = forms.CharField(label=_("Account"), required=False, max_length=200)
    show = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            (queries.SHOW_ACTIVE, _("Open items")),
            (queries.SHOW_SNOOZED, _("Snoozed items")),
            (queries.SHOW_CLOSED, _("Closed items")),
        ],
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not user.is_manager_or_admin:
            del self.fields["queue"]
        for name in ("queue", "kind", "severity", "show"):
            if name in self.fields:
                self.fields[name].widget.attrs["data-autosubmit"] = ""
        self.fields["account"].widget = forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name contains…")}
        )

    def filters(self) -> dict[str, str]:
        """The valid filters for `queries.inbox_list`; invalid ones are ignored."""
        if not self.is_valid():
            return {}
        data = {k: v for k, v in self.cleaned_data.items() if v}
        data["account"] = data.get("account", "").strip()
        return data


class DismissForm(forms.Form):
    reason = forms.CharField(
        label=_("Why dismiss it?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The same condition is not raised again until it clears."),
        error_messages={"required": _("Say why the item is dismissed.")},
    )


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=queries.OUTCOME_CHOICES,
        error_messages={"required": _("Choose how the item ended.")},
    )
    comment = forms.CharField(
        label=_("What was done?"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The condition is not raised again for the item's window unless it clears."),
        error_messages={"required": _("Say what was done.")},
    )


class SnoozeForm(forms.Form):
    until = forms.DateField(
        label=_("Snooze until"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Back in the inbox on that day at 08:00; at most 90 days."),
        error_messages={"required": _("Choose a day.")},
    )
    reason = forms.CharField(
        label=_("Why?"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write a comment.")},
    )


class AssignTamForm(forms.Form):
    tam = forms.ChoiceField(label=_("TAM"))
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why this TAM is assigned.")},
    )

    def __init__(self, *args: Any, tams: list[User], **kwargs: Any) -> None:
        """`tams` in the order to offer them (best suggestion first)."""
        super().__init__(*args, **kwargs)
        self.tams = {str(t.pk): t for t in tams}
        self.fields["tam"].choices = [(str(t.pk), str(t)) for t in tams]  # type: ignore[attr-defined]

    def clean_tam(self) -> User:
        return self.tams[self.cleaned_data["tam"]]
