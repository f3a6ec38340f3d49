"""The appointments calendar: refills and hospital stays of a week or a month, each linking to
its patient; nurses and physicians book, move or cancel an appointment (a stale version is a
409, never an overwrite); the shown period, or any other, as an iCalendar file."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from painpump import clock
from painpump.clinic import appointments
from painpump.clinic.calendar_export import export_between
from painpump.clinic.models import Appointment
from painpump.clinic.therapy_queries import ROWS, appointments_between
from painpump.core.errors import Refusal
from painpump.core.periods import Period, Span, period_of, span_of
from painpump.web.access import clinic_page, user_of
from painpump.web.forms import show_refusal
from painpump.web.views.pathway_forms import DATE

REFUSED = 422
DATE_RULE = "painpump calendar: dates as YYYY-MM-DD"
CHANGES = {"book": "booked", "cancel": "cancelled", "move": None}


class ChangeForm(forms.Form):
    """Book, move or cancel one appointment, at the version shown."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    on = forms.DateField(label="Move to", widget=DATE, required=False)
    do = forms.ChoiceField(choices=[(k, k) for k in CHANGES])
    view = forms.ChoiceField(choices=[(s.value, s.value) for s in Span], widget=forms.HiddenInput)
    day = forms.DateField(widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if self.cleaned_data.get("do") == "move" and not self.cleaned_data.get("on"):
            self.add_error("on", "Enter the day to move the appointment to.")
        return cleaned


def _day(value: str | None, field: str, default: date | None = None) -> date:
    if not value and default is not None:
        return default
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Refusal(field, repr(value), "a date YYYY-MM-DD", DATE_RULE, "is not a date") from None


def _url(span: Span, day: date) -> str:
    return reverse("web:calendar") + "?" + urlencode({"view": span.value, "date": day.isoformat()})


def _form(appointment: Appointment, period: Period, day: date) -> ChangeForm:
    initial = {
        "version": appointment.version,
        "on": appointment.on,
        "view": period.span.value,
        "day": day,
    }
    return ChangeForm(initial=initial, prefix=str(appointment.id))


def _page(
    request: HttpRequest,
    span: Span,
    day: date,
    bound: ChangeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    period = period_of(day, span)
    found = appointments_between(user_of(request), period.start, period.end)
    by_day: dict[date, list[dict[str, Any]]] = {d: [] for d in period.days}
    for appointment in found:
        form = (
            bound
            if bound is not None and bound.prefix == str(appointment.id)
            else _form(appointment, period, day)
        )
        by_day.setdefault(appointment.on, []).append({"a": appointment, "form": form})
    today = timezone.localdate()
    context = {
        "period": period,
        "span": span.value,
        "days": [{"day": d, "rows": by_day[d]} for d in period.days],
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
    day = _day(request.GET.get("date"), "date", timezone.localdate())
    return _page(request, span, day)


@require_POST
@clinic_page
def change(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    form = ChangeForm(request.POST, prefix=str(appointment_id))
    span = span_of(str(request.POST.get(f"{appointment_id}-view", Span.WEEK.value)))
    day = _day(request.POST.get(f"{appointment_id}-day"), "day", timezone.localdate())
    if not form.is_valid():
        return _page(request, span, day, form, REFUSED)
    data = form.cleaned_data
    status = CHANGES[data["do"]]
    try:
        with transaction.atomic():
            changed = appointments.update_appointment(
                user_of(request),
                appointment_id,
                on=data["on"] if data["do"] == "move" else None,
                status=status,
                expected_version=data["version"],
            )
    except Refusal as refusal:
        show_refusal(form, refusal)
        return _page(request, span, day, form, REFUSED)
    patient = changed.patient
    done = {"book": "booked", "cancel": "cancelled", "move": f"moved to {changed.on:%a %d %b %Y}"}
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
