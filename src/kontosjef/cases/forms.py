"""The case page's action forms. Each carries the case version the writer saw (`version`), which
the view passes to the service as `expected_version`."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kontosjef.cases import queries
from kontosjef.cases.models import Priority, Status
from kontosjef.people.models import User

TEXT_LIMIT = 50_000


class CaseActionForm(forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    def add_service_error(self, error: ValidationError) -> None:
        """Show a service's ValidationError on the fields it names, the rest above the form."""
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)


class ReplyForm(CaseActionForm):
    body = forms.CharField(
        label=_("Public reply"),
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("The customer sees this."),
    )
    then_status = forms.ChoiceField(
        label=_("Then set status"),
        required=False,
        choices=[("", _("Keep the status"))] + list(Status.choices),
    )


class NoteForm(CaseActionForm):
    body = forms.CharField(
        label=_("Internal note"),
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Only employees see this."),
    )


class StatusForm(CaseActionForm):
    to = forms.ChoiceField(label=_("Status"), choices=Status.choices)
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=TEXT_LIMIT)


class PriorityForm(CaseActionForm):
    to = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=TEXT_LIMIT)


class AssigneeChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        name = obj.get_full_name() or obj.username
        if obj.department_id is not None:
            return f"{name} ({obj.department})"
        return name


class HandOffForm(CaseActionForm):
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=queries.handoff_departments(),
        required=False,
        empty_label=_("The person's department"),
        help_text=_("Name a department, a person, or both."),
    )
    assignee = AssigneeChoiceField(
        label=_("Person"),
        queryset=queries.handoff_assignees(),
        required=False,
        empty_label=_("Nobody: the department's queue"),
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=TEXT_LIMIT, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Each pass over a model field's choices runs its query again (the template counts
        # them, then lists them): read each list once per form.
        for name in ("department", "assignee"):
            field = cast("forms.ModelChoiceField[Any]", self.fields[name])
            field.choices = list(iter(field.iterator(field)))  # iter(): list() would count first


FORMS: dict[str, type[CaseActionForm]] = {
    "reply": ReplyForm,
    "note": NoteForm,
    "status": StatusForm,
    "priority": PriorityForm,
    "handoff": HandOffForm,
}


def _days_label(days: int) -> str:
    return gettext("%(days)s days") % {"days": days}


_days = lazy(_days_label, str)


class HandlingWindowForm(forms.Form):
    """The handling review's window: so many days ending at a day (empty: now, or the data's
    last day)."""

    days = forms.TypedChoiceField(
        label=_("Window"),
        choices=[(d, _days(d)) for d in (30, 90, 180, 365)],
        coerce=int,
        required=False,
        empty_value=None,
    )
    as_of = forms.DateField(
        label=_("Ending"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
