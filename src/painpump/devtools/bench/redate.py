"""Benchmark of dating every pump of a clinic again by its twin (`painpump bench-redate`): the
clinic's 10,000-patient data set (devtools.bench.clinic), then clinic.actions.pump_dates.redate_all
timed as a change of the refill margin runs it, on the configured database."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime


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
