"""Implants and refills through HTTP: each reconciliation outcome (within accuracy, over- and
underinfusion passed with a typed reason), the refusal without a reason (422 naming `overrides`,
nothing stored), no override passing a hard stop, idempotent retries by key (body or Idempotency-Key
header: one refill), the four-eyes verification, the implant with its program and projection, and
the history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import baclofen_implant, iso, left_at, post, refill_body, version_of

from frozen import NOW, day
from hard_stops import every_rule, ziconotide_pump
from painpump import clock
from painpump.clinic.models import AuditEntry, Implant, Patient, Prescription, Program, Refill
from painpump.clinic.reads import pump_history, whatif
from painpump.clinic.roles import Role
from painpump.clinic.testing import CARRIED_OVER
from report_scenario import PRESCRIBED_AT, first_fill_on_the_prescribers_reason


@pytest.fixture
def implant(users: dict[Role, User], patient: Patient) -> Implant:
    return baclofen_implant(users[Role.PHYSICIAN], patient)


REASON = "residual re-measured, pump interrogated again"


def refills_url(implant: Implant) -> str:
    return f"/api/implants/{implant.id}/refills"


def test_a_refill_within_the_pump_accuracy_needs_no_override(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    response = post(
        client_as(Role.NURSE),
        refills_url(implant),
        refill_body(idempotency_key="a", version=version_of(implant)),
    )
    assert response.status_code == 201, response.content
    refill = response.json()
    assert refill["reconciliation"] == {
        "expected": {"value": 8, "unit": "mL"},
        "aspirated": {"value": 8, "unit": "mL"},
        "difference": {"value": 0, "unit": "mL"},
        "delivery_error_percent": 0,
        "finding": "none",
        "twin_expected": {"least": {"value": 8, "unit": "mL"}, "most": {"value": 8, "unit": "mL"}},
    }
    assert refill["program"]["dose"] == {"value": 400, "unit": "mcg/day"}
    assert refill["program"]["rate"] == {"value": 0.2, "unit": "mL/day"}
    assert refill["drugs"] == [
        {"drug": "baclofen", "concentration": {"value": 2000, "unit": "mcg/mL"}}
    ]
    assert refill["volume"] == {"value": 20, "unit": "mL"}
    assert refill["bridge"] is None and refill["needs_verification"] is False
    assert refill["limited_by"] and refill["refill_by"]
    assert refill["performed_by"] == "nurse.joy"


@pytest.mark.parametrize(
    ("aspirated", "finding", "error_percent"),
    [("6 mL", "overinfusion", 16.667), ("10 mL", "underinfusion", -16.667)],
    ids=["overinfusion", "underinfusion"],
)
def test_a_refill_outside_the_accuracy_is_refused_until_a_reason_is_given(
    client_as: Callable[[Role | None], Client],
    implant: Implant,
    aspirated: str,
    finding: str,
    error_percent: float,
) -> None:
    nurse = client_as(Role.NURSE)
    refused = post(
        nurse,
        refills_url(implant),
        refill_body(aspirated, idempotency_key="k1", version=version_of(implant)),
    )
    assert refused.status_code == 422, refused.content
    error = refused.json()["error"]
    assert error["field"] == "overrides" and "reconciliation" in error["limit"]
    assert error["source"]
    short = post(
        nurse,
        refills_url(implant),
        refill_body(
            aspirated,
            idempotency_key="k1",
            overrides={"reconciliation": "ok"},
            version=version_of(implant),
        ),
    )
    assert short.status_code == 422, short.content
    assert short.json()["error"]["field"] == "overrides[reconciliation]"
    assert Refill.objects.count() == 1 and Program.objects.count() == 1  # the first fill only
    accepted = post(
        nurse,
        refills_url(implant),
        refill_body(
            aspirated,
            idempotency_key="k1",
            overrides={"reconciliation": REASON},
            version=version_of(implant),
        ),
    )
    assert accepted.status_code == 201, accepted.content
    refill = accepted.json()
    assert refill["reconciliation"]["finding"] == finding
    assert refill["reconciliation"]["delivery_error_percent"] == error_percent
    assert [(o["rule"], o["reason"], o["by"], o["given_at"]) for o in refill["overrides"]] == [
        ("reconciliation", REASON, "nurse.joy", "refill")
    ]
    (shown,) = refill["warnings"]
    assert shown["rule"] == "reconciliation" and "tier" in shown
    assert refill["needs_verification"] is True
    assert AuditEntry.objects.filter(action="refill.perform").count() == 2


def test_a_retry_with_the_same_key_returns_the_same_refill(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    nurse = client_as(Role.NURSE)
    body = refill_body(version=version_of(implant))
    first = post(nurse, refills_url(implant), body, HTTP_IDEMPOTENCY_KEY="visit-17")
    again = post(nurse, refills_url(implant), body, HTTP_IDEMPOTENCY_KEY="visit-17")
    in_body = post(nurse, refills_url(implant), body | {"idempotency_key": "visit-17"})
    assert (first.status_code, again.status_code, in_body.status_code) == (201, 200, 200)
    assert first.json() == again.json() == in_body.json()
    assert Refill.objects.filter(implant=implant).count() == 2  # the first fill and this one
    assert AuditEntry.objects.filter(action="refill.perform").count() == 2


@pytest.mark.parametrize(
    ("body", "headers", "field", "limit"),
    [
        ({}, {}, "idempotency_key", "client key"),
        ({"idempotency_key": "a"}, {"HTTP_IDEMPOTENCY_KEY": "b"}, "idempotency_key", "header"),
        ({}, {"HTTP_IDEMPOTENCY_KEY": " "}, "Idempotency-Key", "1 to 80"),
        ({"idempotency_key": "k", "dose": "400 mcg"}, {}, "dose", "dose rate"),
        ({"idempotency_key": "k", "dose": 400}, {}, "dose", ""),
        ({"idempotency_key": "k", "volume": "21 mL"}, {}, "volume", "20 mL"),
        ({"idempotency_key": "k", "aspirated": {"value": 8, "unit": "mg"}}, {}, "aspirated", ""),
        (
            {"idempotency_key": "k", "drugs": [{"drug": "baclofen", "concentration": "2000"}]},
            {},
            "drugs[0].concentration",
            "unit",
        ),
        ({"idempotency_key": "k", "performed_at": f"{day(-328)}T10:00:00"}, {}, "performed_at", ""),
    ],
)
def test_bad_refills_are_refused_naming_the_field_and_store_nothing(
    client_as: Callable[[Role | None], Client],
    implant: Implant,
    body: dict[str, Any],
    headers: dict[str, str],
    field: str,
    limit: str,
) -> None:
    response = post(
        client_as(Role.NURSE),
        refills_url(implant),
        refill_body(**body, version=version_of(implant)),
        **headers,
    )
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["field"] == field and limit in error["limit"]
    assert Refill.objects.count() == 1


def test_a_prescribed_concentration_change_bridges_and_needs_no_second_verification(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    """The new concentration was prescribed and double-checked before the fill: the refill
    executes it (bridge, new rate) and names the prescription; nothing waits for a verification
    afterwards."""
    physician, pharmacist = client_as(Role.PHYSICIAN), client_as(Role.PHARMACIST)
    half = [{"drug": "baclofen", "concentration": "1 mg/mL"}]
    signed = post(
        physician,
        f"/api/implants/{implant.id}/prescriptions",
        {
            "version": Implant.objects.get(id=implant.id).version,
            "drugs": half,
            "program": {"kind": "continuous", "dose": "400 mcg/day"},
            "fluid_change": "bridge",
            "reason": "a weaker solution for a finer titration",
        },
    )
    assert signed.status_code == 201, signed.content
    assert signed.json()["fluid_change"] == "bridge"
    checked = post(
        pharmacist,
        f"/api/prescriptions/{signed.json()['id']}/checks",
        {
            "concentrations": half,
            "program": {"kind": "continuous", "dose": "400 mcg/day"},
            "ptm": None,
            "fluid_change": "bridge",
            "accept": True,
        },
    )
    assert checked.status_code == 201, checked.content
    # the refill follows the double-check, as it does in the clinic
    now = clock.now()
    left = left_at(implant, now)  # the pump delivered as recorded
    changed = refill_body(
        left,
        idempotency_key="conc",
        drugs=half,
        performed_at=now.isoformat(),
        expected=left,
        version=version_of(implant),
    )
    del changed["dose"]
    answer = post(client_as(Role.NURSE), refills_url(implant), changed)
    assert answer.status_code == 201, answer.content
    refill = answer.json()
    assert refill["bridge"] == {
        "volume": {"value": 0.25, "unit": "mL"},
        "rate": {"value": 0.2, "unit": "mL/day"},
    }
    assert refill["program"]["rate"] == {"value": 0.4, "unit": "mL/day"}
    assert refill["program"]["prescription"] == signed.json()["number"]
    assert refill["needs_verification"] is False


def test_a_concentration_change_without_a_bridge_or_priming_is_refused_naming_the_field(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    before = Implant.objects.get(id=implant.id).prescriptions.count()
    answer = post(
        client_as(Role.PHYSICIAN),
        f"/api/implants/{implant.id}/prescriptions",
        {
            "version": version_of(implant),
            "drugs": [{"drug": "baclofen", "concentration": "1 mg/mL"}],
            "program": {"kind": "continuous", "dose": "400 mcg/day"},
            "reason": "a weaker solution for a finer titration",
        },
    )
    assert answer.status_code == 422, answer.content
    error = answer.json()["error"]
    assert (error["field"], error["value"]) == ("fluid_change", "none")
    assert "2 times the prescribed dose" in error["limit"]
    assert error["source"] == "rule-fluid-change"
    assert Implant.objects.get(id=implant.id).prescriptions.count() == before


def test_a_prescribed_priming_bolus_runs_at_the_refill_and_the_twin_counts_it(
    client_as: Callable[[Role | None], Client], implant: Implant, users: dict[Role, User]
) -> None:
    """Primed instead of bridged: a priming bolus that would push a whole day's dose of the old
    baclofen is refused; with a shorter path the refill records the priming bolus (the path's
    volume over its duration at the pump's highest rate), no bridge, and the pump's dates are
    the twin's with that volume drawn at the fill."""
    physician, pharmacist = client_as(Role.PHYSICIAN), client_as(Role.PHARMACIST)
    half = [{"drug": "baclofen", "concentration": "1 mg/mL"}]
    order = {"kind": "continuous", "dose": "400 mcg/day"}
    reasons = {
        "priming_bolus_mixing": "primed in the clinic with the patient observed for 6 hours",
        "priming_pushes_old_drug": "200 mcg pushed, half the day's dose, patient observed",
        "priming_max_single_bolus": "200 mcg pushed above the 100 mcg screening bolus, observed",
    }
    body = {
        "drugs": half,
        "program": order,
        "fluid_change": "priming",
        "reason": "a weaker solution for a finer titration",
        "overrides": reasons,
    }
    url = f"/api/implants/{implant.id}/prescriptions"
    # 0.25 mL of 2000 mcg/mL is 500 mcg: more than the 400 mcg/day the pump gives
    whole_day = post(physician, url, {**body, "version": version_of(implant)})
    assert whole_day.status_code == 422
    assert whole_day.json()["error"]["field"] == "fluid_change"
    assert "pushes a whole day's dose" in whole_day.json()["error"]["message"]
    Implant.objects.filter(id=implant.id).update(dead_volume_ml=Decimal("0.1"))
    signed = post(physician, url, {**body, "version": version_of(implant)})
    assert signed.status_code == 201, signed.content
    rules = {w["rule"] for w in signed.json()["warnings"]}
    assert {"priming_bolus_mixing", "priming_pushes_old_drug"} <= rules
    checks = f"/api/prescriptions/{signed.json()['id']}/checks"
    entries = {"concentrations": half, "program": order, "ptm": None, "accept": True}
    checked = post(pharmacist, checks, entries)
    assert checked.status_code == 422  # the order's priming bolus not entered
    assert checked.json()["error"]["field"] == "fluid_change"
    checked = post(pharmacist, checks, {**entries, "fluid_change": "priming"})
    assert checked.status_code == 201, checked.content
    now = clock.now()
    left = left_at(implant, now)  # the pump delivered as recorded
    changed = refill_body(
        left,
        idempotency_key="primed",
        drugs=half,
        performed_at=now.isoformat(),
        expected=left,
        version=version_of(implant),
    )
    del changed["dose"]
    # the reviewer's case: a push of 11 times the largest single bolus ran on a nurse's reason
    by_nurse = post(client_as(Role.NURSE), refills_url(implant), changed)
    assert by_nurse.status_code == 403, by_nurse.content
    assert by_nurse.json()["error"]["message"] == (
        "nurse.joy may not run a priming bolus that breaks priming_max_single_bolus: a physician "
        "runs it and gives the reason at the refill (rule-physician-priming-push); or the "
        "physician prescribes a bridge or an emptied path instead"
    )
    # the reviewer's case: the prescriber's reasons alone let the push run unacknowledged
    unacknowledged = post(physician, refills_url(implant), changed)
    assert unacknowledged.status_code == 422, unacknowledged.content
    error = unacknowledged.json()["error"]
    assert error["field"] == "overrides"
    assert (
        error["value"] == "priming_bolus_mixing, priming_max_single_bolus, priming_pushes_old_drug"
    )
    # the reviewer's case: the limit listed every warning shown, those with a reason too
    assert error["limit"].endswith(f"that has none yet: {error['value']}")
    acknowledged = {
        "priming_bolus_mixing": "primed with the physician present, patient observed",
        "priming_pushes_old_drug": "200 mcg pushed, patient observed for 6 hours",
        "priming_max_single_bolus": "200 mcg pushed, patient observed for 6 hours",
    }
    answer = post(physician, refills_url(implant), {**changed, "overrides": acknowledged})
    assert answer.status_code == 201, answer.content
    refill = answer.json()
    assert refill["bridge"] is None
    given = {(o["rule"], o["given_at"], o["by"]) for o in refill["overrides"]}
    assert given == {(rule, "refill", refill["performed_by"]) for rule in acknowledged}
    assert refill["performed_by"] == users[Role.PHYSICIAN].username
    # the reviewer's case: the amount pushed was missing beside the volume
    assert refill["priming"] == {
        "volume": {"value": 0.1, "unit": "mL"},
        "duration": {"value": 6, "unit": "min"},
        "pushed": [{"drug": "baclofen", "dose": {"value": 200, "unit": "mcg"}}],
        "words": "the 0.1 mL in the pump tubing and catheter pushed over 6 min: 200 mcg of "
        "baclofen as one bolus",
    }
    stored = Implant.objects.get(id=implant.id)
    history = pump_history.history_of(stored)
    assert history.fills[-1].priming == (Decimal("0.1"), 360)
    twin = pump_history.twin_dates(history, history.fills[-1].at)
    assert stored.empty_at == twin.empty_at
    # 20 mL less the 0.1 mL primed, at 0.4 mL/day: empty 49 days 18 hours after the fill
    filled = history.fills[-1].at.replace(microsecond=0)
    assert stored.empty_at == filled + timedelta(days=49, hours=18)
    # the reviewer's case: the what-if's "left now" left the priming bolus out (19.6 mL)
    later = history.fills[-1].at + timedelta(days=1)
    tried = whatif.what_if(
        users[Role.PHYSICIAN], implant.id, whatif.Proposal("program", None), later
    )
    assert tried.current.left_now == pump_history.residual_at(stored, later)
    assert abs(tried.current.left_now.canonical - Decimal("19.5")) < Decimal("0.01")


def test_a_refill_needing_verification_is_verified_once_by_a_second_clinician(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    body = refill_body(
        "6 mL",
        idempotency_key="over",
        overrides={"reconciliation": REASON},
        version=version_of(implant),
    )
    refill = post(client_as(Role.NURSE), refills_url(implant), body).json()
    assert refill["needs_verification"] is True
    url = f"/api/refills/{refill['id']}/verify"
    assert client_as(Role.NURSE).post(url).status_code == 403
    verified = client_as(Role.PHARMACIST).post(url)
    assert verified.status_code == 200, verified.content
    assert verified.json()["verified_by"] == "pharma.cist"
    again = client_as(Role.PHYSICIAN).post(url)
    assert again.status_code == 422 and "needs no verification" in again.json()["error"]["message"]


def test_the_implant_shows_its_program_projection_and_last_refill(
    client_as: Callable[[Role | None], Client], implant: Implant, patient: Patient
) -> None:
    post(
        client_as(Role.NURSE),
        refills_url(implant),
        refill_body(idempotency_key="r60", version=version_of(implant)),
    )
    reader = client_as(Role.AUDITOR)
    shown = reader.get(f"/api/implants/{implant.id}").json()
    assert shown["pump_model"] == "synchromed-ii-20"
    assert shown["catheter_length"] == {"value": 60, "unit": "cm"}
    assert shown["dead_volume"] == {"value": 0.25, "unit": "mL"}
    assert shown["alarm_volume"] == {"value": 2, "unit": "mL"}
    assert shown["program"]["dose"] == {"value": 400, "unit": "mcg/day"}
    assert shown["program"]["ended_at"] is None
    assert shown["high_risk"] is True
    assert shown["last_refill"]["idempotency_key"] == "r60"
    assert shown["refill_by"] == shown["last_refill"]["refill_by"]
    assert shown["alarm_at"] == shown["last_refill"]["alarm_at"]
    listed = reader.get(f"/api/patients/{patient.id}/implants").json()
    assert [i["id"] for i in listed] == [str(implant.id)]
    history = reader.get(refills_url(implant)).json()
    assert [r["reconciliation"] is None for r in history] == [True, False]
    assert history[0]["program"]["ended_at"] is not None
    assert AuditEntry.objects.filter(action="implant.read", actor="audi.tor").count() == 1


@pytest.mark.parametrize(
    "url",
    ["/api/implants/{id}", "/api/implants/{id}/refills", "/api/refills/{id}/verify"],
)
def test_an_unknown_implant_or_refill_is_a_404(
    client_as: Callable[[Role | None], Client], url: str
) -> None:
    import uuid

    target = url.format(id=uuid.uuid4())
    client = client_as(Role.PHYSICIAN)
    response = client.post(target) if target.endswith("verify") else client.get(target)
    assert response.status_code == 404
    assert "does not exist" in response.json()["error"]["message"]


def test_no_override_turns_a_hard_stop_into_a_program_through_the_api(
    client_as: Callable[[Role | None], Client], users: dict[Role, User]
) -> None:
    """Ziconotide above its US label maximum (a hard limit): a prescription and a refill sending
    an override for that rule and every other are refused, and nothing is recorded or audited."""
    implant = ziconotide_pump(users[Role.PHYSICIAN], users[Role.NURSE])
    physician = client_as(Role.PHYSICIAN)
    counts = (
        Prescription.objects.count(),
        Program.objects.count(),
        Refill.objects.count(),
        AuditEntry.objects.count(),
    )
    dose = {"value": 25, "unit": "mcg/day"}
    signed = post(
        physician,
        f"/api/implants/{implant.id}/prescriptions",
        {
            "version": Implant.objects.get(id=implant.id).version,
            "drugs": [{"drug": "ziconotide", "concentration": "25 mcg/mL"}],
            "program": {"kind": "continuous", "dose": dose},
            "reason": "patient in severe pain, family insists",
            "overrides": every_rule(),
        },
    )
    assert signed.status_code == 422, signed.content
    assert "max_daily_dose" in str(signed.json()["error"])
    refill = post(
        physician,
        refills_url(implant),
        {
            "version": version_of(implant),
            "idempotency_key": "zic-over",
            "performed_at": iso(NOW),
            "expected": "18 mL",
            "aspirated": "18 mL",
            "drugs": [{"drug": "ziconotide", "concentration": "25 mcg/mL"}],
            "volume": "20 mL",
            "lot": "ZIC-2",
            "dose": dose,
            "overrides": every_rule(),
        },
    )
    assert refill.status_code == 422, refill.content
    assert refill.json()["error"]["field"] == "dose"
    assert refill.json()["error"]["limit"].endswith("a new prescription, signed by a physician")
    after = (
        Prescription.objects.count(),
        Program.objects.count(),
        Refill.objects.count(),
        AuditEntry.objects.count(),
    )
    assert after == counts


def test_the_origin_of_spasticity_is_not_a_field_of_a_programming_or_a_refill(
    client_as: Callable[[Role | None], Client], users: dict[Role, User]
) -> None:
    """Regression: "origin": "spinal" in the body passed a stroke patient's +25 % past the
    cerebral limit, with no reason recorded; the origin is the episode's (its override needs a
    reason), so the field is refused."""
    implant = ziconotide_pump(users[Role.PHYSICIAN], users[Role.NURSE])
    physician = client_as(Role.PHYSICIAN)
    version = Implant.objects.get(id=implant.id).version
    for url, body in [
        (f"/api/implants/{implant.id}/programs", {"version": version}),
        (refills_url(implant), refill_body(idempotency_key="o", version=version_of(implant))),
    ]:
        response = post(physician, url, body | {"origin": "spinal"})
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "origin"


def test_an_override_given_at_prescribing_is_answered_as_the_prescribers_not_the_nurses(
    client_as: Callable[[Role | None], Client], users: dict[Role, User], patient: Patient
) -> None:
    """The nurse's first fill passed the start-dose warning on the reason the physician gave
    when signing: each override says who gave it, when and where."""
    nurse, physician = users[Role.NURSE], users[Role.PHYSICIAN]
    refill = first_fill_on_the_prescribers_reason(physician, users[Role.PHARMACIST], nurse, patient)
    reader = client_as(Role.NURSE)
    [shown] = reader.get(f"/api/implants/{refill.implant_id}/refills").json()
    [given] = shown["overrides"]
    assert (given["rule"], given["reason"]) == ("max_start_dose", CARRIED_OVER["max_start_dose"])
    assert (given["by"], given["given_at"]) == ("dr.house", "prescribing")
    assert datetime.fromisoformat(given["at"]) == PRESCRIBED_AT
    versions = reader.get(f"/api/implants/{refill.implant_id}/prescriptions").json()
    [signed] = [o for v in versions for o in v["overrides"]]
    assert signed == given


def test_the_prescribers_very_words_typed_by_the_nurse_are_answered_as_the_nurses(
    client_as: Callable[[Role | None], Client], users: dict[Role, User], patient: Patient
) -> None:
    """Regression: the credit went by comparing words, so a reason the nurse typed in the
    prescriber's words was answered as the prescriber's."""
    nurse, physician = users[Role.NURSE], users[Role.PHYSICIAN]
    refill = first_fill_on_the_prescribers_reason(
        physician, users[Role.PHARMACIST], nurse, patient, typed=CARRIED_OVER
    )
    [shown] = client_as(Role.NURSE).get(f"/api/implants/{refill.implant_id}/refills").json()
    [given] = shown["overrides"]
    assert given["reason"] == CARRIED_OVER["max_start_dose"]
    assert (given["by"], given["given_at"], given["as_recorded"]) == ("nurse.joy", "refill", False)
    assert datetime.fromisoformat(given["at"]) == refill.performed_at
