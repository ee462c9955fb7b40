"""The case page's action forms. Each carries the case version the writer saw (`version`), which
the view passes to the service as `expected_version`."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kontosjef.accounts.models import Account, Contact
from kontosjef.cases import queries
from kontosjef.cases.models import Channel, Priority, SlaState, Status
from kontosjef.people import access
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


# Case list ---------------------------------------------------------------------------------------


class _ChoiceField(forms.ModelChoiceField[Any]):
    """A model choice whose choices can be read once per form (the template counts, then
    lists them)."""

    def freeze(self) -> None:
        self.choices = list(iter(self.iterator(self)))


VIEWS = [
    (queries.VIEW_ALL, _("All cases")),
    (queries.VIEW_MINE, _("My queue")),
    (queries.VIEW_DEPARTMENT, _("My department")),
    (queries.VIEW_BREACHING, _("Breaching soon")),
]


class CaseListFilterForm(forms.Form):
    """The case list's view and filters, read from the query string. Invalid values are left
    out rather than refused: a bookmarked link with a stale person still shows a page."""

    view = forms.ChoiceField(required=False, choices=VIEWS, widget=forms.HiddenInput)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            (queries.STATUS_OPEN, _("Open")),
            (queries.STATUS_CLOSED, _("Solved or closed")),
            (queries.STATUS_ALL, _("Any status")),
            *Status.choices,
        ],
    )
    priority = forms.ChoiceField(
        label=_("Priority"), required=False, choices=[("", _("Any priority")), *Priority.choices]
    )
    sla = forms.ChoiceField(
        label=_("SLA"), required=False, choices=[("", _("Any SLA state")), *SlaState.choices]
    )
    department = _ChoiceField(
        label=_("Department"),
        queryset=queries.case_list_departments(),
        required=False,
        empty_label=_("All departments"),
    )
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    account = _ChoiceField(
        label=_("Account"), queryset=Account.objects.none(), required=False,
        empty_label=_("All accounts"),
    )  # fmt: skip
    product = _ChoiceField(
        label=_("Product"),
        queryset=queries.case_list_products(),
        required=False,
        empty_label=_("All products"),
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[(s, s) for key in queries.CASE_SORTS for s in (key, f"-{key}")],
        widget=forms.HiddenInput,
    )

    def __init__(self, data: Any, *, user: User) -> None:
        super().__init__(data, auto_id="cases-%s", label_suffix="")
        self.user = user
        cast(_ChoiceField, self.fields["account"]).queryset = queries.case_list_accounts(user)
        self.people = {str(p.pk): p for p in queries.case_list_assignees(user)}
        cast(forms.ChoiceField, self.fields["assignee"]).choices = [
            ("", _("Anyone")),
            (queries.UNASSIGNED, _("Nobody (unassigned)")),
            *((pk, str(p)) for pk, p in self.people.items()),
        ]
        for name in ("department", "account", "product"):
            cast(_ChoiceField, self.fields[name]).freeze()
        self.offered_views = VIEWS
        if user.department_id is None:
            # Without a department there is no "my department" view to offer.
            self.offered_views = [v for v in VIEWS if v[0] != queries.VIEW_DEPARTMENT]
            cast(forms.ChoiceField, self.fields["view"]).choices = self.offered_views
        if not self.is_valid():
            # Keep the valid filters: drop each invalid one and read the rest.
            self.data = {k: v for k, v in self.data.items() if k not in self.errors}
            self.full_clean()

    @property
    def chosen_view(self) -> str:
        return self.cleaned_data.get("view") or queries.VIEW_ALL

    @property
    def ordering(self) -> str:
        return self.cleaned_data.get("sort") or queries.DEFAULT_CASE_SORT

    def case_filter(self) -> queries.CaseListFilter:
        data = self.cleaned_data
        assignee = data.get("assignee") or ""
        return queries.CaseListFilter(
            view=self.chosen_view,
            department=data.get("department"),
            assignee=self.people.get(assignee),
            unassigned=assignee == queries.UNASSIGNED,
            status=data.get("status") or queries.STATUS_OPEN,
            priority=data.get("priority") or "",
            sla=data.get("sla") or "",
            account=data.get("account"),
            product=data.get("product"),
            sort=self.ordering,
        )


# New case ----------------------------------------------------------------------------------------


class ContactChoiceField(forms.ModelChoiceField[Contact]):
    def label_from_instance(self, obj: Contact) -> str:
        return f"{obj.name} ({obj.account.name})"


class CaseOpenForm(forms.Form):
    """A case an agent or TAM records (a call, an e-mail forwarded by hand). The choices hold
    what the user may name; `cases.services.case_open` still decides and validates."""

    account = _ChoiceField(label=_("Account"), queryset=Account.objects.none())
    requester = ContactChoiceField(
        label=_("Requester"),
        queryset=Contact.objects.none(),
        required=False,
        empty_label=_("No contact"),
        help_text=_("The customer contact who raised it."),
        error_messages={"invalid_choice": _("The requester must be a contact of the account.")},
    )
    subject = forms.CharField(label=_("Subject"), max_length=300)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    opened_by_customer = forms.BooleanField(
        label=_("The description is the requester's own words"),
        required=False,
        help_text=_(
            "Then it is the customer's first message and the first-reply clock waits for your "
            "answer; otherwise it is your own public note of the call."
        ),
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.P3)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    product = _ChoiceField(
        label=_("Product"),
        queryset=queries.case_list_products(),
        required=False,
        empty_label=_("No product"),
    )
    department = _ChoiceField(
        label=_("Department"),
        queryset=queries.handoff_departments(),
        required=False,
        empty_label=_("The person's department, or none"),
    )
    assignee = AssigneeChoiceField(
        label=_("Assignee"),
        queryset=queries.handoff_assignees(),
        required=False,
        empty_label=_("Nobody: the department's queue"),
    )

    def __init__(self, *args: Any, user: User, account: Account | None = None, **kwargs: Any):
        kwargs.setdefault("auto_id", "new-case-%s")
        super().__init__(*args, **kwargs)
        accounts = access.case_intake_accounts(user).only("name").order_by("name")
        cast(_ChoiceField, self.fields["account"]).queryset = accounts
        contacts = Contact.objects.filter(account__in=accounts.values("pk"))
        if account is not None:
            contacts = contacts.filter(account=account)
        requester = cast(ContactChoiceField, self.fields["requester"])
        requester.queryset = contacts.select_related("account").order_by("account__name", "name")
        if user.role == User.Role.AGENT and user.department_id is not None:
            self.fields["department"].initial = user.department_id
        for name in ("account", "product", "department", "requester", "assignee"):
            field = cast(forms.ModelChoiceField[Any], self.fields[name])
            field.choices = list(iter(field.iterator(field)))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        account, requester = data.get("account"), data.get("requester")
        if requester is not None and account is not None and requester.account_id != account.pk:
            self.add_error("requester", _("The requester must be a contact of the account."))
        if data.get("opened_by_customer") and requester is None and "requester" not in self.errors:
            self.add_error("requester", _("A case opened by the customer needs a requester."))
        return data

    def add_service_error(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)
