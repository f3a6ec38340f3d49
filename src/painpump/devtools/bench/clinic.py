"""Benchmark of the clinic service: a data set of N patients with up to five years of refill
history (volumes from the pump twin), served by `painpump serve` (gunicorn), and concurrent HTTP
load on the dashboard (its first page of each list, and 100 rows a list) and the patient endpoints;
prints p50/p95/p99 latency and throughput.

The data set is written with bulk inserts (a benchmark fixture, not a clinic: it bypasses the
services and their audit trail, which the demo clinic and the tests exercise instead). Its rows
are those the services would write: each pump's continuous prescription, signed by the bench
physician and double-checked by the bench pharmacist before the first fill, executed by every
program and read back after it."""

from __future__ import annotations

import http.client
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the models load once main() has set Django up
    from django.contrib.auth.models import User

    from painpump.clinic.models import (
        Episode,
        Implant,
        Patient,
        Prescription,
        PrescriptionCheck,
        PrescriptionDrug,
        PrescriptionStep,
        Program,
        Readback,
        Refill,
        RefillDrug,
    )
    from painpump.core.catalog import Pump
    from painpump.core.twin.scenario import Scenario

DRUGS = [
    ("baclofen", Decimal(2000), Decimal(400)),
    ("morphine", Decimal(10_000), Decimal(3000)),
    ("ziconotide", Decimal(25), Decimal("2.4")),
]
MISSED_EVERY = 25
"""One patient in 25 missed their last refill, so the refill lists hold patients due this week
and overdue, as in a clinic."""
INDICATIONS = {
    "baclofen": ["stroke", "multiple_sclerosis", "paraplegia"],
    "morphine": ["tumour_pain", "failed_back_surgery_syndrome", "polyneuropathy"],
    "ziconotide": ["failed_back_surgery_syndrome"],
}
BATCH = 2000
"""Rows of a table written by one insert."""
PHARMACIST = "bench.pharmacist"
PRESCRIBED_BEFORE = timedelta(hours=1)
CHECKED_BEFORE = timedelta(minutes=30)
"""How long before a pump's first fill its prescription is signed, and double-checked."""


@dataclass(frozen=True)
class _Therapy:
    """A patient's drug, its concentration and daily dose (mcg/mL, mcg/day)."""

    drug: str
    concentration: Decimal
    dose: Decimal

    @property
    def rate(self) -> Decimal:
        return self.dose / self.concentration


@dataclass
class _DataSet:
    """The rows to write, each list after those it refers to."""

    patients: list[Patient] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    implants: list[Implant] = field(default_factory=list)
    prescriptions: list[Prescription] = field(default_factory=list)
    prescription_drugs: list[PrescriptionDrug] = field(default_factory=list)
    prescription_steps: list[PrescriptionStep] = field(default_factory=list)
    prescription_checks: list[PrescriptionCheck] = field(default_factory=list)
    programs: list[Program] = field(default_factory=list)
    readbacks: list[Readback] = field(default_factory=list)
    refills: list[Refill] = field(default_factory=list)
    refill_drugs: list[RefillDrug] = field(default_factory=list)


def generate(patients: int, seed: int, now: datetime, out: Callable[[str], None]) -> str:
    """Write the data set into the configured database; returns a physician's username."""
    from painpump.core import catalog

    began = time.perf_counter()
    rng = random.Random(seed)
    user = _bench_physician()
    template = _scenario_template()
    pump = catalog.pump("synchromed-ii-40")
    data = _DataSet()
    for n in range(patients):
        _add_patient(data, n, rng, now, template, pump, user.username)
    _write(data)
    out(
        f"data set: {patients:,} patients, {len(data.implants):,} implants, "
        f"{len(data.refills):,} refills written in {time.perf_counter() - began:.1f} s"
    )
    return user.username


def _bench_physician() -> User:
    from django.contrib.auth.models import Group, User

    user, _ = User.objects.get_or_create(username="bench.physician")
    user.groups.add(Group.objects.get_or_create(name="physician")[0])
    return user


def _scenario_template() -> Scenario:
    """The pump every patient has (the fields each patient's twin run changes are placeholders)."""
    from painpump.core.twin.scenario import load_scenario

    return load_scenario(
        {
            "start": "2021-01-01T09:00:00Z",
            "until": "2021-02-01T09:00:00Z",
            "pump": {"model": "synchromed-ii-40"},
            "fill": {"volume": "40 mL", "drug": "baclofen", "concentration": "2000 mcg/mL"},
            "program": {"kind": "continuous", "rate": "0.2 mL/day"},
        }
    )


def _add_patient(
    data: _DataSet,
    n: int,
    rng: random.Random,
    now: datetime,
    template: Scenario,
    pump: Pump,
    username: str,
) -> None:
    """Patient n, referred up to five years ago; four in five with a pump and its refills since."""
    from painpump.clinic.models import Episode, Patient

    drug, conc, dose = rng.choice(DRUGS)
    therapy = _Therapy(drug, conc, dose * Decimal(rng.randrange(50, 151)) / 100)
    patient = Patient(
        mrn=f"B{n:06d}",
        family_name=f"Family{n % 997}",
        given_name=f"Given{n}",
        birth_date=date(1940 + n % 60, 1 + n % 12, 1),
        psychosis_history=False,  # recorded, as a clinic does before prescribing ziconotide
    )
    data.patients.append(patient)
    implanted = rng.random() < 0.8
    start = now - timedelta(days=int(rng.uniform(0.1, 5) * 365))
    episode = Episode(
        patient=patient,
        indication=rng.choice(INDICATIONS[drug]),
        stage="maintenance" if implanted else "referred",
        referred_on=(start - timedelta(days=120)).date(),
    )
    data.episodes.append(episode)
    if implanted:
        implant = _implant(episode, n, pump, therapy.drug, start)
        data.implants.append(implant)
        fills = _fills(template, rng, n, therapy, start, now)
        _add_history(data, implant, fills, pump, therapy, username, n)


def _implant(episode: Episode, n: int, pump: Pump, drug: str, start: datetime) -> Implant:
    from painpump.clinic.models import Implant

    return Implant(
        episode=episode,
        pump_model=pump.model,
        pump_serial=f"NGP{n:07d}",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume_ml=Decimal("0.2"),
        alarm_volume_ml=Decimal(2),
        implanted_on=start.date(),
        high_risk=drug == "baclofen",
        drug_names=drug,
    )


def _fills(
    template: Scenario,
    rng: random.Random,
    n: int,
    therapy: _Therapy,
    start: datetime,
    now: datetime,
) -> list[tuple[datetime, Decimal | None, Decimal | None]]:
    """The pump twin's run from `start` to `now`, refilled a few days before the pump would be
    empty: each fill's time with the volumes expected and aspirated (None at the first fill)."""
    from painpump.core.twin import Twin
    from painpump.core.twin.scenario import Event, Fluid, ProgramSpec, Rate

    rate = therapy.rate
    every = max(14, min(180, int(30 / rate) - rng.randrange(1, 20)))
    at = int(start.timestamp())
    until = int(now.timestamp())
    fluid = Fluid(((therapy.drug, therapy.concentration),))
    events = tuple(
        Event(t, "refill", k, volume_ml=Decimal(40), fluid=fluid)
        for k, t in enumerate(range(at + every * 86400, until, every * 86400))
    )
    if n % MISSED_EVERY == 0:
        events = events[:-1]  # missed the last refill: due this week or overdue by now
    scenario = replace(
        template,
        start=at,
        until=until,
        fill=fluid,
        fill_volume_ml=Decimal(40),
        program=ProgramSpec("continuous", days=(((0, Rate(rate_ml_per_day=rate)),),) * 7),
        accuracy=Decimal(rng.choice([100] * 9 + [118])) / 100,
        events=events,
    )
    result = Twin(scenario).run()
    return [(datetime.fromtimestamp(at, UTC), None, None)] + [
        (
            datetime.fromtimestamp(e.at, UTC),
            e.details["expected"].canonical,
            e.details["aspirated"].canonical,
        )
        for e in result.events
        if e.kind == "refill"
    ]


def _add_history(
    data: _DataSet,
    implant: Implant,
    fills: list[tuple[datetime, Decimal | None, Decimal | None]],
    pump: Pump,
    therapy: _Therapy,
    username: str,
    n: int,
) -> None:
    """The pump's prescription, then a program (executing it, read back) and a refill per fill,
    each program ended by the next; the implant keeps the dates of its last fill."""
    from painpump.clinic.models import Program, Refill, RefillDrug
    from painpump.core.refill import plan_refill
    from painpump.core.units import of

    rate = therapy.rate
    prescription = _prescription(data, implant, therapy, username, fills[0][0])
    last_program = None
    for k, (when, expected, aspirated) in enumerate(fills):
        program = Program(
            implant=implant,
            prescription=prescription,
            dose_mcg_per_day=therapy.dose,
            rate_ml_per_day=rate.quantize(Decimal("0.000001")),
            started_at=when,
            prescribed_by=username,
            programmed_by=username,
        )
        data.readbacks.append(_readback(program, therapy, username, when))
        if last_program is not None:
            last_program.ended_at = when
        data.programs.append(program)
        last_program = program
        plan = plan_refill(pump, of(Decimal(40), "mL"), of(rate, "mL/day"), fill_at=when)
        refill = Refill(
            implant=implant,
            idempotency_key=f"b{n}-{k}",
            performed_at=when,
            performed_by=username,
            expected_ml=expected,
            aspirated_ml=aspirated,
            **_reconciliation(pump, expected, aspirated),
            volume_ml=Decimal(40),
            lot="BENCH",
            program=program,
            alarm_at=plan.alarm_at,
            empty_at=plan.empty_at,
            refill_by=plan.refill_by,
            limited_by=plan.limited_by,
        )
        data.refills.append(refill)
        data.refill_drugs.append(
            RefillDrug(
                refill=refill,
                position=0,
                drug=therapy.drug,
                concentration_mcg_per_ml=therapy.concentration,
            )
        )
        implant.alarm_at, implant.empty_at, implant.refill_by = (
            plan.alarm_at,
            plan.empty_at,
            plan.refill_by,
        )


def _prescription(
    data: _DataSet, implant: Implant, therapy: _Therapy, username: str, first_fill: datetime
) -> Prescription:
    """The continuous prescription of `therapy`, in force (every bench drug is high-alert: it
    was double-checked)."""
    from painpump.clinic.models import (
        Prescription,
        PrescriptionCheck,
        PrescriptionDrug,
        PrescriptionStep,
    )
    from painpump.core.dose_history import Phase
    from painpump.core.prescription import ProgramKind

    checked_at = first_fill - CHECKED_BEFORE
    prescription = Prescription(
        implant=implant,
        number=1,
        status=Prescription.Status.ACTIVE,
        program_kind=ProgramKind.CONTINUOUS.value,
        daily_dose_mcg_per_day=therapy.dose,
        phase=Phase.MAINTENANCE.value,
        reason="bench: established dose",
        high_alert=True,
        prescribed_by=username,
        prescribed_at=first_fill - PRESCRIBED_BEFORE,
        checked_by=PHARMACIST,
        checked_at=checked_at,
    )
    data.prescriptions.append(prescription)
    data.prescription_drugs.append(
        PrescriptionDrug(
            prescription=prescription,
            position=0,
            drug=therapy.drug,
            concentration_mcg_per_ml=therapy.concentration,
        )
    )
    data.prescription_steps += [
        PrescriptionStep(
            prescription=prescription, weekday=day, start_s=0, dose_mcg_per_day=therapy.dose
        )
        for day in range(7)
    ]
    data.prescription_checks.append(
        PrescriptionCheck(
            prescription=prescription,
            checked_by=PHARMACIST,
            checked_at=checked_at,
            accepted=True,
            entered={
                "concentrations": [f"{therapy.drug} {therapy.concentration} mcg/mL"],
                "program": "continuous",
                "days": [[f"00:00 {therapy.dose} mcg/day"]] * 7,
                "ptm": None,
            },
        )
    )
    return prescription


def _readback(program: Program, therapy: _Therapy, username: str, when: datetime) -> Readback:
    """The programmer's readback after the fill: 40 mL of the prescribed drug and program."""
    from painpump.clinic.models import Readback

    step = f"00:00 {therapy.dose} mcg/day"
    return Readback(
        program=program,
        read_by=username,
        read_at=when + timedelta(minutes=5),
        entered={
            "reservoir": "40 mL",
            "drugs": [f"{therapy.drug} {therapy.concentration} mcg/mL"],
            "program": "continuous",
            "days": [[step]] * 7,
            "ptm": None,
        },
    )


def _reconciliation(
    pump: Pump, expected: Decimal | None, aspirated: Decimal | None
) -> dict[str, Any]:
    """As the refill service records it: every refill after the first carries its
    reconciliation (the API's refill presenter relies on it)."""
    from painpump.core.refill import reconcile
    from painpump.core.units import of, round_places

    if expected is None or aspirated is None:
        return {}
    check = reconcile(pump, of(expected, "mL"), of(aspirated, "mL"), of(40 - expected, "mL"))
    return {
        "difference_ml": round_places(check.difference.canonical, 6),
        "delivery_error_percent": round_places(check.delivery_error_percent, 3),
        "finding": check.finding,
    }


def _write(data: _DataSet) -> None:
    from django.db import connection

    from painpump.clinic.models import (
        Episode,
        Implant,
        Patient,
        Prescription,
        PrescriptionCheck,
        PrescriptionDrug,
        PrescriptionStep,
        Program,
        Readback,
        Refill,
        RefillDrug,
    )

    Patient.objects.bulk_create(data.patients, batch_size=BATCH)
    Episode.objects.bulk_create(data.episodes, batch_size=BATCH)
    Implant.objects.bulk_create(data.implants, batch_size=BATCH)
    Prescription.objects.bulk_create(data.prescriptions, batch_size=BATCH)
    PrescriptionDrug.objects.bulk_create(data.prescription_drugs, batch_size=BATCH)
    PrescriptionStep.objects.bulk_create(data.prescription_steps, batch_size=BATCH)
    PrescriptionCheck.objects.bulk_create(data.prescription_checks, batch_size=BATCH)
    Program.objects.bulk_create(data.programs, batch_size=BATCH)
    Readback.objects.bulk_create(data.readbacks, batch_size=BATCH)
    Refill.objects.bulk_create(data.refills, batch_size=BATCH)
    RefillDrug.objects.bulk_create(data.refill_drugs, batch_size=BATCH)
    written = (
        Patient,
        Episode,
        Implant,
        Prescription,
        PrescriptionDrug,
        PrescriptionStep,
        PrescriptionCheck,
        Program,
        Readback,
        Refill,
        RefillDrug,
    )
    if connection.vendor == "postgresql":
        # what autovacuum would soon do (statistics, visibility map), so it does not run during
        # the measurement and the plans are those of a settled database
        tables = ", ".join(model._meta.db_table for model in written)
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {tables}")


def load(
    port: int, token: str, paths: list[str], seconds: float, clients: int
) -> tuple[list[float], int]:
    """`clients` threads requesting `paths` round-robin for `seconds`; latencies in ms."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(offset: int) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = offset
        mine: list[float] = []
        bad = 0
        while time.perf_counter() < stop:
            path = paths[i % len(paths)]
            i += 1
            began = time.perf_counter()
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - began) * 1000)
            bad += response.status != 200
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main(patients: int, seconds: float, clients: int, out: Callable[[str], None]) -> None:
    from painpump.devtools.bench.twin import machine
    from painpump.runtime import free_port, gunicorn_argv, setup_django, wait_for_port

    setup_django()
    from django.core.management import call_command
    from django.db import connection, connections

    from painpump.api import tokens
    from painpump.clinic.models import Patient

    out(f"machine: {machine()}")
    out(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    call_command("migrate", interactive=False, verbosity=0)
    now = datetime.now(UTC).replace(microsecond=0)
    if Patient.objects.count() < patients:
        username = generate(patients, 1, now, out)
    else:
        username = "bench.physician"
        out(f"data set: reusing {Patient.objects.count():,} patients")
    token = tokens.create(username, read_only=True, name="benchmark").secret
    ids = [str(p) for p in Patient.objects.values_list("id", flat=True)[:500]]
    connections.close_all()
    port = free_port()
    server = subprocess.Popen(gunicorn_argv("127.0.0.1", port, 2, 60), env=os.environ.copy())
    try:
        wait_for_port(port)
        for name, paths in (
            ("dashboard", ["/api/dashboard"]),
            ("dashboard, 100 rows a list", ["/api/dashboard?limit=100"]),
            ("patient", [f"/api/patients/{i}" for i in ids]),
            ("search", [f"/api/patients?q=Family{k}" for k in range(50)]),
        ):
            load(port, token, paths[:5], 2, 1)  # warm-up
            latencies, errors = load(port, token, paths, seconds, clients)
            out(
                f"{name}: {len(latencies):,} requests by {clients} clients in {seconds:.0f} s "
                f"({len(latencies) / seconds:,.0f}/s), p50 {_percentile(latencies, 50):.1f} ms, "
                f"p95 {_percentile(latencies, 95):.1f} ms, p99 {_percentile(latencies, 99):.1f} "
                f"ms, errors {errors}"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000, 20, 8, print)
