"""The appointments calendar: refills and hospital stays of a week or a month, each linking to
its patient; nurses and physicians book, move or cancel an appointment (a stale version is a
409, never an overwrite); the shown period, or any other, as an iCalendar file."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from painpump import clock
from painpump.clinic.actions import appointments
from painpump.clinic.locale import clinic_locale, clinic_settings, clinic_today, locale_of
from painpump.clinic.models import Appointment
from painpump.clinic.reads.calendar_export import export_between
from painpump.clinic.reads.refill_slots import (
    LOOK_AHEAD,
    OPEN,
    booking_rules,
    feasible_slots,
    taken_between,
)
from painpump.clinic.reads.therapy_queries import ROWS, appointments_between
from painpump.core.booking import free_slots
from painpump.core.errors import Refusal
from painpump.core.periods import Period, Span, period_of, span_of
from painpump.plumbing.status import REFUSED
from painpump.web.access import clinic_page, user_of
from painpump.web.forms import attempt
from painpump.web.views.pathway_forms import DATE

DATE_RULE = "painpump calendar: dates as YYYY-MM-DD"
CHANGES = {"book": "booked", "cancel": "cancelled", "move": None}


class ChangeForm(forms.Form):
    """Book, move (to a free slot offered, or to a day) or cancel one appointment, at the
    version shown; a refill after its refill-by date needs a reason."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    slot = forms.ChoiceField(label="Move to a free slot", required=False)
    on = forms.DateField(label="or to the day", widget=DATE, required=False)
    late_reason = forms.CharField(
        label="Reason, if after the refill-by date", max_length=300, required=False
    )
    do = forms.ChoiceField(choices=[(k, k) for k in CHANGES])
    view = forms.ChoiceField(choices=[(s.value, s.value) for s in Span], widget=forms.HiddenInput)
    day = forms.DateField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, slots: list[tuple[str, str]] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["slot"].choices = [("", "—"), *(slots or [])]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        data = self.cleaned_data
        if data.get("do") == "move" and not data.get("on") and not data.get("slot"):
            self.add_error("on", "Choose a free slot or enter the day to move the appointment to.")
        return cleaned

    def clean_slot(self) -> str:
        chosen = str(self.cleaned_data.get("slot") or "")
        if chosen:
            try:
                moment = datetime.fromisoformat(chosen)
            except ValueError:
                raise forms.ValidationError("is not a slot the calendar offered") from None
            if moment.utcoffset() is None:
                raise forms.ValidationError("is not a slot the calendar offered")
        return chosen

    def start(self) -> datetime | None:
        chosen = self.cleaned_data.get("slot")
        return datetime.fromisoformat(chosen) if chosen else None


def _day(value: str | None, field: str, default: date | None = None) -> date:
    if not value and default is not None:
        return default
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Refusal(field, repr(value), "a date YYYY-MM-DD", DATE_RULE, "is not a date") from None


def _url(span: Span, day: date) -> str:
    return reverse("web:calendar") + "?" + urlencode({"view": span.value, "date": day.isoformat()})


def _form(
    appointment: Appointment, period: Period, day: date, slots: list[tuple[str, str]]
) -> ChangeForm:
    initial = {
        "version": appointment.version,
        "view": period.span.value,
        "day": day,
        "late_reason": appointment.late_reason,
    }
    return ChangeForm(initial=initial, prefix=str(appointment.id), slots=slots)


def _offered(appointment: Appointment, now: datetime, booking: _Booking) -> list[tuple[str, str]]:
    """The free slots an open refill visit can move to, as choices (value, label)."""
    if appointment.kind != Appointment.Kind.REFILL or appointment.status not in OPEN:
        return []
    found = feasible_slots(appointment, now, booking.locale, booking.rules, booking.taken)
    return [(s.isoformat(), booking.locale.format_moment(s)) for s in found]


class _Booking:
    """The clinic's locale and booking rules, and the refill visits taken around a period."""

    def __init__(self, period: Period, found: list[Appointment], now: datetime) -> None:
        settings = clinic_settings()
        self.locale, self.rules = locale_of(settings), booking_rules(settings)
        today = self.locale.today(now)
        dues = [a.due_by for a in found if a.due_by is not None]
        start = min(today, period.start)
        end = max([today, period.end, *dues]) + LOOK_AHEAD
        self.taken = taken_between(start, end)

    def free_on(self, day: date, now: datetime) -> int:
        return len(free_slots(day, self.locale, self.rules, self.taken.get(day, []), now=now))


def _page(
    request: HttpRequest,
    span: Span,
    day: date,
    bound: ChangeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    period = period_of(day, span)
    found = appointments_between(user_of(request), period.start, period.end)
    now = clock.now()
    booking = _Booking(period, found, now)
    by_day: dict[date, list[dict[str, Any]]] = {d: [] for d in period.days}
    for appointment in found:
        slots = _offered(appointment, now, booking)
        if bound is not None and bound.prefix == str(appointment.id):
            bound.fields["slot"].choices = [("", "—"), *slots]  # type: ignore[attr-defined]
            form = bound
        else:
            form = _form(appointment, period, day, slots)
        by_day.setdefault(appointment.on, []).append({"a": appointment, "form": form})
    today = booking.locale.today(now)
    context = {
        "period": period,
        "span": span.value,
        "days": [
            {"day": d, "rows": by_day[d], "free": booking.free_on(d, now) if d >= today else None}
            for d in period.days
        ],
        "weeks": [[{"day": d, "rows": by_day.get(d, [])} for d in week] for week in period.weeks],
        "today": today,
        "previous": _url(span, period.previous.start),
        "next": _url(span, period.next.start),
        "this": _url(span, today),
        "week_url": _url(Span.WEEK, period.start),
        "month_url": _url(Span.MONTH, period.start),
        "ics": reverse("web:calendar-ics")
        + "?"
        + urlencode({"from": period.start.isoformat(), "to": period.end.isoformat()}),
        "count": len(found),
        "cut": len(found) >= ROWS,
    }
    return render(request, "web/calendar/calendar.html", context, status=status)


@require_GET
@clinic_page
def calendar(request: HttpRequest) -> HttpResponse:
    span = span_of(request.GET.get("view", Span.WEEK.value))
    day = _day(request.GET.get("date"), "date", clinic_today())
    return _page(request, span, day)


@require_POST
@clinic_page
def change(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    form = ChangeForm(request.POST, prefix=str(appointment_id))
    span = span_of(str(request.POST.get(f"{appointment_id}-view", Span.WEEK.value)))
    day = _day(request.POST.get(f"{appointment_id}-day"), "day", clinic_today())
    form.fields["slot"].choices = [("", "—"), (request.POST.get(f"{appointment_id}-slot", ""),) * 2]  # type: ignore[attr-defined]
    if not form.is_valid():
        return _page(request, span, day, form, REFUSED)
    data = form.cleaned_data
    status = CHANGES[data["do"]]
    changed = attempt(
        form,
        partial(
            appointments.update_appointment,
            user_of(request),
            appointment_id,
            on=data["on"] if data["do"] == "move" and not data["slot"] else None,
            starts_at=form.start() if data["do"] == "move" else None,
            status=status,
            late_reason=data["late_reason"] or None,
            expected_version=data["version"],
        ),
    )
    if changed is None:
        return _page(request, span, day, form, REFUSED)
    patient = changed.patient
    when = clinic_locale().format_moment(changed.starts_at) if changed.starts_at else changed.on
    done = {"book": "booked", "cancel": "cancelled", "move": f"moved to {when}"}
    messages.success(
        request,
        f"{changed.get_kind_display()} of {patient.family_name}, {patient.given_name}: "
        f"{done[data['do']]}.",
    )
    return redirect(_url(span, day))


@require_GET
@clinic_page
def export(request: HttpRequest) -> HttpResponse:
    """GET /calendar.ics?from=YYYY-MM-DD&to=YYYY-MM-DD: the appointments of those days."""
    start = _day(request.GET.get("from"), "from")
    end = _day(request.GET.get("to"), "to")
    content = export_between(user_of(request), start, end, exported_at=clock.now())
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    filename = f"painpump-appointments-{start.isoformat()}-{end.isoformat()}.ics"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
