"""The admin's pages: user accounts (clinic.actions.users: list, create, roles, deactivate or
reactivate, reset a password; a role asked for waits for a second admin, who approves or declines
it here; an account made outside painpump is asked to be adopted and a second admin approves,
clinic.actions.account_adoptions; clinic.actions.two_factor: reset another user's second factor)
and the clinic settings
(clinic.actions.settings_service), each field explained with its default and where that default
comes from; a wider readback tolerance is asked for there and approved, declined or withdrawn
by the admins, clinic.actions.tolerance_requests). Every change carries the record's version."""

from __future__ import annotations

from datetime import time
from functools import partial
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import password_validation, update_session_auth_hash
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from painpump.clinic import two_factor
from painpump.clinic.actions import (
    account_adoptions,
    role_grants,
    settings_service,
    tolerance_requests,
    users,
)
from painpump.clinic.actions import two_factor as two_factor_actions
from painpump.clinic.models import ClinicSettings
from painpump.clinic.roles import Role, may, require
from painpump.core import catalog, readback_tolerance
from painpump.core.checks import LIBRARY, REGIONS
from painpump.core.errors import Refusal
from painpump.core.locale import SOURCE as LOCALE_SOURCE
from painpump.core.locale import DateFormat, TimeFormat, zone_names
from painpump.core.pathway.sources import (
    IMPLANT_INTERVAL_SOURCE,
    STAY_SOURCE,
    TEST_LENGTH_SOURCE,
)
from painpump.core.refill import MARGIN_SOURCE
from painpump.core.scheduling import CALENDAR_SOURCE, WEEKDAYS
from painpump.core.units import Kind, Q
from painpump.plumbing.status import REFUSED
from painpump.web.access import clinic_page, user_of
from painpump.web.forms import QuantityField, attempt, show_refusal

ROLE_CHOICES = [
    (Role.PHYSICIAN.value, "Physician: prescribes, decides the pathway"),
    (Role.NURSE.value, "Nurse: refills, assessments, appointments"),
    (Role.PHARMACIST.value, "Pharmacist: drug library, verifies changes"),
    (Role.AUDITOR.value, "Auditor: reads records and the audit log"),
    (Role.ADMIN.value, "Admin: users and settings, no patient records"),
]


class RolesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ROLE_CHOICES, label="Roles", **kwargs)


def _password_help() -> str:
    return " ".join(password_validation.password_validators_help_texts())


class PasswordFields(forms.Form):
    """A password typed twice; the validators are the service's (clinic.actions.users)."""

    password = forms.CharField(
        label="Password",
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    repeat = forms.CharField(
        label="Password again",
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = _password_help()

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if self.cleaned_data.get("password") != self.cleaned_data.get("repeat"):
            self.add_error("repeat", "The two passwords differ: type the same password twice.")
        return cleaned


class NewUserForm(PasswordFields):
    username = forms.CharField(label="Username", max_length=150)
    first_name = forms.CharField(label="Given name", max_length=150)
    last_name = forms.CharField(label="Family name", max_length=150)
    roles = RolesField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(["username", "first_name", "last_name", "roles", "password", "repeat"])
        self.fields["password"].label = "Initial password"


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class RolesForm(VersionForm):
    roles = RolesField()


class ActiveForm(VersionForm):
    active = forms.TypedChoiceField(
        choices=[("1", "reactivate"), ("0", "deactivate")],
        coerce=lambda value: value == "1",
        widget=forms.HiddenInput,
    )


class ResetForm(VersionForm, PasswordFields):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].label = "New password"


def _waiting(roles: list[str]) -> str:
    return f"{', '.join(roles)}: asked for, waiting for a second admin's approval"


class AdoptForm(forms.Form):
    """An account made outside painpump, asked to be adopted, with the admin's typed reason."""

    user = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        label="Reason",
        max_length=account_adoptions.REASON_MAX,
        help_text="why the clinic vouches for this account, e.g. who made it and when",
    )


def _users_page(
    request: HttpRequest, adopt_form: AdoptForm | None = None, status: int = 200
) -> HttpResponse:
    user = user_of(request)
    outside = account_adoptions.outside_accounts(user)
    context: dict[str, Any] = {
        "accounts": users.list_accounts(user),
        "grants": role_grants.pending_grants(user),
        "outside": outside,
        "adoptions": account_adoptions.pending(user),
        "reason_max": account_adoptions.REASON_MAX,
        "reason_help": AdoptForm.base_fields["reason"].help_text,
        "me": user.get_username(),
    }
    if adopt_form is not None:
        asked = str(adopt_form.data.get("user", ""))
        context["adopt_user"] = next((o.id for o in outside if str(o.id) == asked), None)
        context["adopt_reason"] = adopt_form.data.get("reason", "")
        context["adopt_errors"] = [e for errors in adopt_form.errors.values() for e in errors]
    return render(request, "web/admin/users.html", context, status=status)


@clinic_page
def accounts(request: HttpRequest) -> HttpResponse:
    return _users_page(request)


@require_POST
@clinic_page
def adoption_ask(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    require(user, "users.manage")  # the form is answered only to those the service will accept
    form = AdoptForm(request.POST)
    if form.is_valid():
        target, reason = form.cleaned_data["user"], form.cleaned_data["reason"]
        asked = attempt(form, partial(account_adoptions.ask, user, target, reason=reason))
        if asked is not None:
            messages.success(
                request,
                f"Adoption of {asked.username} asked for: its creation is recorded once a second "
                "admin approves.",
            )
            return redirect("web:users")
    return _users_page(request, form, REFUSED)


@require_POST
@clinic_page
def adoption_approve(request: HttpRequest, adoption_id: int) -> HttpResponse:
    adopted = account_adoptions.approve(user_of(request), adoption_id)
    messages.success(
        request,
        f"{adopted.username} is adopted: the audit trail records its creation as it is now "
        f"(asked by {adopted.requested_by}).",
    )
    return redirect("web:users")


@require_POST
@clinic_page
def adoption_decline(request: HttpRequest, adoption_id: int) -> HttpResponse:
    declined = account_adoptions.decline(user_of(request), adoption_id)
    messages.success(request, f"The adoption of {declined.username} is declined.")
    return redirect("web:users")


@require_POST
@clinic_page
def adoption_withdraw(request: HttpRequest, adoption_id: int) -> HttpResponse:
    withdrawn = account_adoptions.withdraw(user_of(request), adoption_id)
    messages.success(request, f"Your request to adopt {withdrawn.username} is withdrawn.")
    return redirect("web:users")


@clinic_page
def new_account(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    require(user, "users.manage")  # the form is shown only to those the service will accept
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        account = attempt(
            form,
            lambda: users.create_account(
                user,
                username=data["username"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                roles=data["roles"],
                password=data["password"],
            ),
        )
        if account is not None:
            messages.success(
                request, f"User {account.username} created; roles {_waiting(data['roles'])}."
            )
            return redirect("web:user", account.id)
    status = REFUSED if form.errors else 200
    return render(request, "web/admin/user_new.html", {"form": form}, status=status)


def _account_page(
    request: HttpRequest, user_id: int, status: int = 200, **forms_shown: forms.Form
) -> HttpResponse:
    user = user_of(request)
    account = users.read_account(user, user_id)
    version = {"version": account.version}
    context: dict[str, Any] = {
        "account": account,
        "roles_form": RolesForm(initial={**version, "roles": list(account.roles)}, prefix="roles"),
        "active_form": ActiveForm(
            initial={**version, "active": "0" if account.active else "1"}, prefix="active"
        ),
        "reset_form": ResetForm(initial=version, prefix="reset"),
        "two_factor": two_factor.status_of(account.id),
        "two_factor_form": VersionForm(initial=version, prefix="two_factor"),
        "own": account.id == user.id,
        "grants": role_grants.pending_grants(user, user_id=account.id),
        "me": user.get_username(),
    }
    context.update(forms_shown)
    return render(request, "web/admin/user.html", context, status=status)


@clinic_page
def account(request: HttpRequest, user_id: int) -> HttpResponse:
    return _account_page(request, user_id)


@require_POST
@clinic_page
def account_roles(request: HttpRequest, user_id: int) -> HttpResponse:
    user = user_of(request)
    form = RolesForm(request.POST, prefix="roles")
    if form.is_valid():
        data = form.cleaned_data
        version, roles = data["version"], data["roles"]
        change = partial(users.set_roles, user, user_id, expected_version=version, roles=roles)
        changed = attempt(form, change)
        if changed is not None:
            done = [f"removed: {', '.join(changed.removed)}"] if changed.removed else []
            done += [_waiting(list(changed.asked))] if changed.asked else []
            messages.success(request, f"Roles {'; '.join(done) or 'unchanged'}.")
            return redirect("web:user", user_id)
    return _account_page(request, user_id, REFUSED, roles_form=form)


@require_POST
@clinic_page
def grant_approve(request: HttpRequest, grant_id: int) -> HttpResponse:
    grant = users.approve_grant(user_of(request), grant_id)
    messages.success(request, f"{grant.username} holds the role {grant.role} from now on.")
    return redirect("web:user", grant.user_id)


@require_POST
@clinic_page
def grant_decline(request: HttpRequest, grant_id: int) -> HttpResponse:
    grant = role_grants.decline(user_of(request), grant_id)
    messages.success(request, f"The request for {grant.role} for {grant.username} is declined.")
    return redirect("web:user", grant.user_id)


@require_POST
@clinic_page
def account_active(request: HttpRequest, user_id: int) -> HttpResponse:
    user = user_of(request)
    form = ActiveForm(request.POST, prefix="active")
    if form.is_valid():
        version, active = form.cleaned_data["version"], form.cleaned_data["active"]
        change = partial(users.set_active, user, user_id, expected_version=version, active=active)
        if attempt(form, change) is not None:
            messages.success(request, "Account reactivated." if active else "Account deactivated.")
            return redirect("web:user", user_id)
    return _account_page(request, user_id, REFUSED, active_form=form)


@require_POST
@clinic_page
def account_password(request: HttpRequest, user_id: int) -> HttpResponse:
    user = user_of(request)
    form = ResetForm(request.POST, prefix="reset")
    if form.is_valid():
        version, password = form.cleaned_data["version"], form.cleaned_data["password"]
        change = partial(
            users.reset_password, user, user_id, expected_version=version, password=password
        )
        if attempt(form, change) is not None:
            if user_id == user.id:
                user.refresh_from_db()
                update_session_auth_hash(request, user)  # the admin stays signed in
            messages.success(request, "Password reset: tell the user in person.")
            return redirect("web:user", user_id)
    return _account_page(request, user_id, REFUSED, reset_form=form)


@require_POST
@clinic_page
def account_two_factor(request: HttpRequest, user_id: int) -> HttpResponse:
    """Reset another user's second factor (a lost phone): authenticator and recovery codes."""
    user = user_of(request)
    form = VersionForm(request.POST, prefix="two_factor")
    if form.is_valid():
        version = form.cleaned_data["version"]
        change = partial(two_factor_actions.reset, user, user_id, expected_version=version)
        if attempt(form, change) is not None:
            messages.success(
                request,
                "Two-factor sign-in reset: the user sets up a new authenticator when next "
                "signing in.",
            )
            return redirect("web:user", user_id)
    return _account_page(request, user_id, REFUSED, two_factor_form=form)


DAY_FIELDS = {
    "implant_wait_days": (
        "Waiting time from the test phase to the implant",
        "the earliest implant date is the responder decision plus this",
        IMPLANT_INTERVAL_SOURCE,
    ),
    "stay_min_days": (
        "Shortest hospital stay",
        "a test-phase or implant stay shorter than this warns",
        STAY_SOURCE,
    ),
    "stay_max_days": (
        "Longest hospital stay",
        "a stay longer than this warns",
        STAY_SOURCE,
    ),
    "refill_margin_days": (
        "Refill margin before the low-reservoir alarm",
        "a refill is due this long before the projected alarm",
        MARGIN_SOURCE,
    ),
}
DAY_FIELDS |= {
    name: (
        f"Planned test phase, {severity.value.replace('_', ' ')} spasticity",
        "the planned end of a test phase started from now on, for this severity (a running one "
        f"keeps its plan); {settings_service.TEST_PHASE_DAYS[0]} to "
        f"{settings_service.TEST_PHASE_DAYS[1]} days",
        TEST_LENGTH_SOURCE,
    )
    for name, severity in settings_service.TEST_PHASE_FIELDS.items()
}
UNVERIFIED = dict.fromkeys(
    settings_service.TEST_PHASE_FIELDS,
    "unverified: clinic setting, no source gives these lengths",
)
UNVERIFIED[settings_service.TOLERANCE] = (
    "unverified: clinic setting, no source gives the programmer's display resolution"
)
"""The settings whose values no source gives (rule-clinic-setting), with how the page marks them."""


def _regional_limits() -> str:
    """The drug-library limits that differ by region, so the admin sees what the choice does."""
    shown = [
        f"{drug.name} {catalog.RULE_LABELS[lim.rule]} {lim.text()} ({lim.when['region'].upper()})"
        for drug in catalog.drugs().values()
        for lim in drug.limits
        if "region" in lim.when
    ]
    return "; ".join(shown) or "none"


DATE_FORMAT_NAMES = {
    DateFormat.ISO: "year-month-day, ISO 8601",
    DateFormat.DAY_MONTH_YEAR_DOTS: "day.month.year",
    DateFormat.DAY_MONTH_YEAR_SLASHES: "day/month/year",
    DateFormat.MONTH_DAY_YEAR: "month/day/year",
}
TIME_FORMAT_NAMES = {TimeFormat.H24: "24-hour clock", TimeFormat.H12: "12-hour clock"}
SETTINGS_ORDER = list(settings_service.FIELDS)
"""The settings form's fields, in the order the page shows them (the version is hidden)."""
CHOICE_GROUPS = frozenset({"open_weekdays"})
"""Fields shown as a group of checkboxes (a fieldset with a legend) rather than one input."""


def _format_choices(kind: type[DateFormat] | type[TimeFormat]) -> list[tuple[str, str]]:
    """Each format with an example (25 November 2026, 14:30) and its name."""
    names: dict[Any, str] = {**DATE_FORMAT_NAMES, **TIME_FORMAT_NAMES}
    return [
        (member.value, f"{member.label} ({names.get(member, member.value)})") for member in kind
    ]


class WallTimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self) -> None:
        super().__init__(format="%H:%M")


class SettingsForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    country = forms.CharField(
        label="Country (ISO 3166 code, e.g. US, DE)",
        max_length=2,
        help_text="refill appointments avoid its public holidays and weekends",
    )
    subdivision = forms.CharField(
        label="Region of the country (optional, e.g. BY)",
        max_length=10,
        required=False,
        help_text="adds the region's own public holidays",
    )
    dosing_region = forms.ChoiceField(
        label="Dosing region",
        choices=[(region, region.upper()) for region in REGIONS],
        help_text="which labeling applies where the drug library differs by region",
    )
    time_zone = forms.ChoiceField(
        label="Time zone (IANA)",
        choices=(),  # set per form: every zone tzdata knows
        help_text="every date and time is shown in it and every rule counted in days counts "
        "its calendar days",
    )
    open_weekdays = forms.TypedMultipleChoiceField(
        label="Opening days",
        choices=[(str(number), name) for number, name in enumerate(WEEKDAYS)],
        coerce=int,
        required=False,  # no day at all is refused by the clinic calendar, with its source
        widget=forms.CheckboxSelectMultiple,
        help_text="refill appointments are proposed on these days only",
    )
    opens_at = forms.TimeField(
        label="Opens at",
        widget=WallTimeInput(),
        input_formats=["%H:%M"],
        help_text="the clinic's wall clock, HH:MM",
    )
    closes_at = forms.TimeField(
        label="Closes at",
        widget=WallTimeInput(),
        input_formats=["%H:%M"],
        help_text="the clinic's wall clock, HH:MM; after the opening time",
    )
    date_format = forms.ChoiceField(
        label="Date format",
        choices=_format_choices(DateFormat),
        help_text="how pages write a day (the example is 25 November 2026)",
    )
    time_format = forms.ChoiceField(
        label="Time format",
        choices=_format_choices(TimeFormat),
        help_text="how pages write a time of day",
    )
    refill_visit_minutes = QuantityField(
        Kind.DURATION,
        label="Length of a refill visit",
        help_text="how long a refill appointment is booked; a number of minutes, e.g. 30 min",
    )
    refill_capacity_per_day = forms.IntegerField(
        label="Refill visits a day (capacity)",
        help_text="how many refill visits the clinic takes a day, 0 to 200",
    )
    readback_tolerance = QuantityField(
        Kind.VOLUME,
        label="Readback tolerance of the reservoir",
        help_text="how far the reservoir volume the clinician programmer shows after programming "
        "may lie from the volume expected; a volume, e.g. 0.1 mL, from 0 mL to below "
        f"{readback_tolerance.ceiling().value} (the smallest pocket-fill threshold)",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, (label, meaning, _) in DAY_FIELDS.items():
            self.fields[name] = QuantityField(
                Kind.DURATION, label=label, help_text=f"{meaning}; a number of days, e.g. 21 day"
            )
        zone_field = self.fields["time_zone"]
        assert isinstance(zone_field, forms.ChoiceField)
        zone_field.choices = [(name, name) for name in zone_names()]
        self.order_fields(SETTINGS_ORDER)

    def _whole(self, name: str, unit: str, what: str) -> int:
        value = self.cleaned_data.get(name)
        assert isinstance(value, Q)
        amount = value.to(unit).value
        if amount != amount.to_integral_value():
            raise forms.ValidationError(f"{value} is not a whole number of {what}")
        return int(amount)

    def _days(self, name: str) -> int:
        return self._whole(name, "day", "days")

    def clean_implant_wait_days(self) -> int:
        return self._days("implant_wait_days")

    def clean_stay_min_days(self) -> int:
        return self._days("stay_min_days")

    def clean_stay_max_days(self) -> int:
        return self._days("stay_max_days")

    def clean_refill_margin_days(self) -> int:
        return self._days("refill_margin_days")

    def clean_test_phase_days_moderate(self) -> int:
        return self._days("test_phase_days_moderate")

    def clean_test_phase_days_severe(self) -> int:
        return self._days("test_phase_days_severe")

    def clean_test_phase_days_very_severe(self) -> int:
        return self._days("test_phase_days_very_severe")

    def clean_refill_visit_minutes(self) -> int:
        return self._whole("refill_visit_minutes", "min", "minutes")


def _defaults() -> dict[str, Any]:
    """The model's defaults (the fact sheets' values), as the page shows them."""
    fields = {field.name: field for field in ClinicSettings._meta.fields}
    stored = [name for name in SETTINGS_ORDER if name != settings_service.TOLERANCE]
    defaults = {name: fields[name].get_default() for name in stored}
    shown = {name: f"{defaults[name]} day" for name in DAY_FIELDS}
    shown |= {name: str(defaults[name]).upper() or "none" for name in settings_service.TEXT_FIELDS}
    shown["time_zone"] = str(defaults["time_zone"])
    shown["open_weekdays"] = settings_service.weekday_names(defaults["open_weekdays"])
    shown["opens_at"] = defaults["opens_at"].isoformat("minutes")
    shown["closes_at"] = defaults["closes_at"].isoformat("minutes")
    shown["date_format"] = DateFormat(defaults["date_format"]).label
    shown["time_format"] = TimeFormat(defaults["time_format"]).label
    for name, (unit, _, _) in settings_service.COUNT_FIELDS.items():
        shown[name] = f"{defaults[name]} {unit}"
    shown[settings_service.TOLERANCE] = str(readback_tolerance.tolerance().value)
    return shown


def _explained(form: SettingsForm) -> list[dict[str, Any]]:
    """Each field with its default and the source of that default."""
    defaults = _defaults()
    sources = {name: source for name, (_, _, source) in DAY_FIELDS.items()}
    sources |= {"country": CALENDAR_SOURCE, "subdivision": CALENDAR_SOURCE}
    sources["dosing_region"] = f"{LIBRARY}; limits that differ by region: {_regional_limits()}"
    sources["open_weekdays"] = CALENDAR_SOURCE
    sources |= dict.fromkeys(
        ("time_zone", "opens_at", "closes_at", "date_format", "time_format"), LOCALE_SOURCE
    )
    sources |= dict.fromkeys(settings_service.COUNT_FIELDS, settings_service.VISIT_SOURCE)
    ceiling = readback_tolerance.ceiling()
    sources[settings_service.TOLERANCE] = (
        f"{readback_tolerance.SOURCE}; below {ceiling.value}: {ceiling.source}"
    )
    return [
        {
            "field": field,
            "default": defaults[field.name],
            "source": sources[field.name],
            "group": field.name in CHOICE_GROUPS,
            "unverified": UNVERIFIED.get(field.name, ""),
            "shown": _shown(form, field.name),
        }
        for field in form.visible_fields()
    ]


def _shown(form: SettingsForm, name: str) -> str:
    """A setting as a reader sees it (on the read-only page)."""
    value = form.initial.get(name)
    if name == "open_weekdays":
        return settings_service.weekday_names([int(day) for day in value or []])
    field = form.fields[name]
    if isinstance(field, forms.ChoiceField) and name != "time_zone":
        return str(dict(field.choices).get(value, value))  # type: ignore[arg-type]
    if isinstance(value, time):
        return value.isoformat("minutes")
    if name == "refill_capacity_per_day":
        return f"{value} {settings_service.COUNT_FIELDS[name][0]}"
    return str(value) if value not in (None, "") else "—"


def _initial(current: ClinicSettings) -> dict[str, Any]:
    initial: dict[str, Any] = {name: f"{getattr(current, name)} day" for name in DAY_FIELDS}
    initial |= {
        "country": current.country,
        "subdivision": current.subdivision,
        "dosing_region": current.dosing_region,
        "time_zone": current.time_zone,
        "open_weekdays": [str(day) for day in current.open_weekdays],
        "opens_at": current.opens_at,
        "closes_at": current.closes_at,
        "date_format": current.date_format,
        "time_format": current.time_format,
        "refill_visit_minutes": f"{current.refill_visit_minutes} min",
        "refill_capacity_per_day": current.refill_capacity_per_day,
        settings_service.TOLERANCE: str(settings_service.tolerance_of(current)),
        "version": current.version,
    }
    return initial


class ToleranceAskForm(VersionForm):
    """A wider readback tolerance the settings form refused, asked of a second admin."""

    readback_tolerance = QuantityField(Kind.VOLUME, widget=forms.HiddenInput)


def _settings_page(
    request: HttpRequest,
    current: ClinicSettings,
    form: SettingsForm,
    ask_form: ToleranceAskForm | None = None,
) -> HttpResponse:
    user = user_of(request)
    editing = may(user, "settings.write")
    context = {
        "form": form,
        "current": current,
        "snapshot": settings_service.snapshot(current),
        "rows": _explained(form),
        "may_edit": editing,
        "waiting": tolerance_requests.waiting(user) if editing else None,
        "ask_form": ask_form,
        "me": user.get_username(),
    }
    status = REFUSED if form.errors or (ask_form and ask_form.errors) else 200
    return render(request, "web/admin/settings.html", context, status=status)


@clinic_page
def clinic_settings(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    current = settings_service.read_settings(user)
    form = SettingsForm(request.POST or None, initial=_initial(current))
    ask_form = None
    if request.method == "POST":
        require(user, "settings.write")
        if form.is_valid():
            changes = dict(form.cleaned_data)
            version = changes.pop("version")
            try:
                with transaction.atomic():
                    settings_service.update_settings(user, expected_version=version, **changes)
                messages.success(request, "Settings saved: they apply from now on.")
                return redirect("web:settings")
            except readback_tolerance.Wider as wider:
                show_refusal(form, wider)
                offered = {"version": version, settings_service.TOLERANCE: wider.value}
                ask_form = ToleranceAskForm(initial=offered, prefix="ask")
            except Refusal as refusal:
                show_refusal(form, refusal)
    return _settings_page(request, current, form, ask_form)


@require_POST
@clinic_page
def tolerance_ask(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    require(user, "settings.write")  # the form is answered only to those the service will accept
    form = ToleranceAskForm(request.POST, prefix="ask")
    if form.is_valid():
        version, wanted = form.cleaned_data["version"], form.cleaned_data["readback_tolerance"]
        change = partial(tolerance_requests.ask, user, expected_version=version, tolerance=wanted)
        asked = attempt(form, change)
        if asked is not None:
            messages.success(
                request,
                f"A readback tolerance of {asked.requested} is asked for: it applies once a "
                "second admin approves it.",
            )
            return redirect("web:settings")
    current = settings_service.read_settings(user)
    return _settings_page(request, current, SettingsForm(initial=_initial(current)), form)


@require_POST
@clinic_page
def tolerance_approve(request: HttpRequest, request_id: int) -> HttpResponse:
    approved = tolerance_requests.approve(user_of(request), request_id)
    messages.success(
        request,
        f"The readback tolerance is {approved.requested} from now on (asked by "
        f"{approved.requested_by}).",
    )
    return redirect("web:settings")


@require_POST
@clinic_page
def tolerance_decline(request: HttpRequest, request_id: int) -> HttpResponse:
    declined = tolerance_requests.decline(user_of(request), request_id)
    messages.success(request, f"The request for {declined.requested} is declined.")
    return redirect("web:settings")


@require_POST
@clinic_page
def tolerance_withdraw(request: HttpRequest, request_id: int) -> HttpResponse:
    withdrawn = tolerance_requests.withdraw(user_of(request), request_id)
    messages.success(request, f"Your request for {withdrawn.requested} is withdrawn.")
    return redirect("web:settings")
