"""The load test's pieces (painpump.devtools.load.run, painpump.devtools.load.users) work: its
locust clients, run once through every kind of visit against a live server with a handful of
patients from the benchmark data set, get only the answers they expect and record accepted refills,
a retried one only once. The load test itself is a benchmark (scripts/bench-load), not part of this
suite."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from painpump.clinic.models import AuditEntry, Prescription, Program, Refill
from painpump.clinic.reads.prescriptions import as_core, executed_prescription
from painpump.core.refill_decision import Fill
from painpump.core.units import of
from painpump.devtools.bench.clinic import generate
from painpump.devtools.load import run as load_test
from painpump.devtools.load.plan import PROFILES, weighted_cycle

pytestmark = pytest.mark.django_db(transaction=True)

EVERY_REQUEST = {
    "GET /api/dashboard",
    "GET /patients/{id}/ (chart page)",
    "GET /api/patients/{id}",
    "GET /api/patients?q=",
    "GET /api/implants/{id}",
    "GET /api/implants/{id}/refills",
    "GET /implants/{id}/refill/ (preview)",
    "POST /api/implants/{id}/refills",
    "POST /api/implants/{id}/refills (retried)",
}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_weighted_cycle_visits_each_kind_as_often_as_its_weight() -> None:
    order = weighted_cycle(PROFILES["mixed"])
    assert {kind: order.count(kind) for kind in PROFILES["mixed"]} == PROFILES["mixed"]


def test_bench_data_set_refills_carry_their_reconciliation() -> None:
    """Regression: the benchmark data set wrote refills with expected and aspirated volumes but
    no delivery error, which the API's refill presenter cannot show (500 on every pump read)."""
    generate(6, 1, datetime.now(UTC).replace(microsecond=0), lambda _: None)
    later = Refill.objects.filter(expected_ml__isnull=False)
    assert later.exists()
    assert not later.filter(delivery_error_percent__isnull=True).exists()
    assert not later.exclude(finding__in=["none", "overinfusion", "underinfusion"]).exists()


def test_bench_data_set_programs_execute_a_double_checked_prescription_of_their_fill() -> None:
    """Every program of the benchmark data set executes its pump's prescription (signed by the
    physician, double-checked by the pharmacist, the fill's drug, concentration and dose), and
    is read back; a refill of the same fill executes it, as the load test's refills do."""
    generate(6, 1, datetime.now(UTC).replace(microsecond=0), lambda _: None)
    programs = list(Program.objects.select_related("prescription", "implant"))
    assert programs
    for program in programs:
        prescription = program.prescription
        assert prescription is not None and prescription.status == Prescription.Status.ACTIVE
        assert prescription.checks.get().accepted
        assert prescription.checked_by not in ("", prescription.prescribed_by)
        assert as_core(prescription).daily_dose.canonical == program.dose_mcg_per_day
        (refill,) = program.refills.all()
        assert program.programmed_by == refill.performed_by
        assert program.readbacks.get().read_at > refill.performed_at > prescription.prescribed_at
        fill = Fill(
            tuple((d.drug, of(d.concentration_mcg_per_ml, "mcg/mL")) for d in refill.drugs.all()),
            of(refill.volume_ml, "mL"),
            refill.lot,
        )
        dose = of(program.dose_mcg_per_day, "mcg/day")
        assert executed_prescription(program.implant, fill, dose) == prescription


def test_load_clients_visit_every_endpoint_and_record_each_refill_once(
    live_server: Any, frozen_clock: time_machine.Traveller
) -> None:
    # the load clients run in processes of their own, on the real clock: so does the server
    frozen_clock.move_to(time_machine.escape_hatch.datetime.datetime.now(UTC))
    generate(6, 1, datetime.now(UTC).replace(microsecond=0), lambda _: None)
    clinic = load_test.clinic_for_load("bench.physician", due_after=date.min)
    assert clinic.implants
    before = Refill.objects.count()
    phase = {"profile": "mixed", "rates": [50], "visits": 11, "stop_on_fail": False}
    config = load_test.client_config(clinic, live_server.url, 1, [phase], retry_every=1)

    results = load_test.run_clients(config)

    assert results["user_errors"] == []
    (step,) = results["steps"]
    requests = step["requests"]
    assert set(requests) >= EVERY_REQUEST
    assert {name: r["errors"] for name, r in requests.items() if r["errors"]} == {}
    made = requests["POST /api/implants/{id}/refills"]["requests"]
    assert requests["POST /api/implants/{id}/refills (retried)"]["requests"] == made
    recorded = Refill.objects.filter(lot="LOAD-TEST")
    assert recorded.count() == made == Refill.objects.count() - before
    assert AuditEntry.objects.filter(action="refill.perform").count() == made
    assert User.objects.get(username="bench.physician").has_usable_password()
