"""Benchmark of dating every pump of a clinic again by its twin (`painpump bench-redate`): the
clinic's 10,000-patient data set (devtools.bench.clinic), then clinic.actions.pump_dates.redate_all
timed as a change of the refill margin runs it, on the configured database; then, with a proposed
refill visit for every pump, the margin changed through the settings service and back (the open
visits follow the pumps' dates)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def main(patients: int, out: Callable[[str], None]) -> None:
    from painpump.devtools.bench.twin import machine
    from painpump.runtime import setup_django

    setup_django()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection

    from painpump.clinic.actions import pump_dates
    from painpump.clinic.models import Implant, Patient
    from painpump.devtools.bench.clinic import generate

    out(f"machine: {machine()}")
    out(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    call_command("migrate", interactive=False, verbosity=0)
    now = datetime.now(UTC).replace(microsecond=0)
    if Patient.objects.count() < patients:
        generate(patients, 1, now, out)
    else:
        out(f"data set: reusing {Patient.objects.count():,} patients")
    admin, _ = User.objects.get_or_create(username="bench.admin")
    admin.groups.add(Group.objects.get_or_create(name="admin")[0])
    pumps = Implant.objects.filter(explanted_on__isnull=True, refill_by__isnull=False).count()
    for run in ("first", "again"):
        began = time.perf_counter()
        changed = pump_dates.redate_all(admin, now)
        seconds = time.perf_counter() - began
        out(
            f"redate ({run}): {pumps:,} pumps in {seconds:.1f} s "
            f"({seconds / max(pumps, 1) * 1000:.2f} ms a pump), {changed:,} changed"
        )
    _with_visits(admin, out)


CAPACITY = 200
"""Refill visits a day the benchmark's clinic takes: 7,969 pumps fit into some 40 open days."""


def _with_visits(admin: User, out: Callable[[str], None]) -> None:
    """A proposed refill visit for every pump without an open one, then the refill margin set a
    week longer and back, each timed with the pumps and visits it moved."""
    from django.db import transaction

    from painpump.clinic.actions import refill_visits, settings_service
    from painpump.clinic.locale import clinic_settings
    from painpump.clinic.models import Appointment, AuditEntry, Implant
    from painpump.core.refill import LimitedBy

    visited = Appointment.objects.filter(kind="refill", status__in=("proposed", "booked"))
    pumps = Implant.objects.filter(explanted_on__isnull=True, refill_by__isnull=False).exclude(
        episode__patient_id__in=visited.values("patient_id")
    )
    note = refill_visits.limited_note(LimitedBy.RESERVOIR)
    # room on the calendar for every pump of the data set (the default capacity serves a clinic
    # of a few hundred pumps; a full calendar refuses the move, as it refuses a refill's visit)
    settings_service.update_settings(
        admin, expected_version=clinic_settings().version, refill_capacity_per_day=CAPACITY
    )
    began = time.perf_counter()
    with transaction.atomic():
        for implant in pumps.select_related("episode"):
            refill_visits.propose_refill("bench", implant, note)
    out(f"visits: {visited.count():,} open, proposed in {time.perf_counter() - began:.1f} s")
    margin = clinic_settings().refill_margin_days
    for days in (margin + 7, margin):
        began = time.perf_counter()
        settings_service.update_settings(
            admin, expected_version=clinic_settings().version, refill_margin_days=days
        )
        seconds = time.perf_counter() - began
        after = AuditEntry.objects.filter(action="pumps.redate").order_by("seq").last()
        found = after.after if after is not None and after.after else {}
        out(
            f"margin to {days} days: {found.get('changed', 0):,} pumps and "
            f"{len(found.get('appointments_moved', [])):,} visits moved in {seconds:.1f} s"
        )
