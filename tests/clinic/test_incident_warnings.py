"""A readback incident open on a pump (the pump may run the values read back) is a soft warning of
its next refill and programming, in the preview and the service alike: it names when the incident
was opened, by whom and what differed, needs a typed reason (recorded with the refill or program
and audited) and leaves the correction possible; a physician's closing of the incident ends it."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL
from painpump.clinic.actions import programs, readbacks, refills
from painpump.clinic.locale import clinic_locale
from painpump.clinic.models import AuditEntry, Implant, Incident, Refill
from painpump.clinic.reads.incident_warnings import RULE
from painpump.clinic.reads.program_preview import preview_program_change
from painpump.clinic.reads.refill_preview import RefillPreview, preview_refill
from painpump.clinic.testing import baclofen, prescribed
from painpump.core import prescription as rx
from painpump.core.decision import Finding, Tier
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import Readback as ReadValues
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db

OPENED_AT = FIRST_FILL + timedelta(minutes=10)
DAY_60 = FIRST_FILL + timedelta(days=60)
SEEN = "incident seen; programmer checked against the prescription before refilling"


def dose(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "dose")


@pytest.fixture
def incident(implant: Implant, nurse: User) -> Incident:
    """The first fill read back with ten times the prescribed daily dose: an open incident."""
    wrong = ReadValues(
        parse("20 mL", Kind.VOLUME, "reservoir"),
        (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),),
        rx.PrescribedProgram.continuous(dose("4000 mcg/day")),
        None,
    )
    program = implant.programs.get(ended_at__isnull=True)
    readbacks.record_readback(nurse, program.id, wrong, OPENED_AT)
    return Incident.objects.get()


def _incident_warning(warnings: tuple[Finding, ...]) -> Finding:
    [found] = [w for w in warnings if w.rule == RULE]
    return found


def _preview(nurse: User, implant: Implant) -> RefillPreview:
    return preview_refill(
        nurse,
        implant.id,
        at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=baclofen(),
    )


def _refill(nurse: User, implant: Implant, overrides: dict[str, str]) -> Refill:
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key=str(uuid4()),
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=baclofen(),
        overrides=overrides,
    )


def test_a_refill_with_a_readback_incident_open_warns_naming_it_and_needs_a_typed_reason(
    implant: Implant, nurse: User, incident: Incident
) -> None:
    """Regression: the refill after a differing readback was judged as any other."""
    preview = _preview(nurse, implant)
    warning = _incident_warning(preview.warnings)
    assert warning.tier is Tier.SOFT and preview.stop is None
    opened = clinic_locale().format_moment(OPENED_AT)
    assert f"opened {opened} by nurse.joy" in warning.message
    assert "program.days.mon: entered 00:00 4000 mcg/day" in warning.message
    assert warning.source.startswith("rule-readback")
    with pytest.raises(Refusal) as refused:
        _refill(nurse, implant, {})
    assert refused.value.field == "overrides" and RULE in refused.value.value
    refill = _refill(nurse, implant, {RULE: SEEN})
    assert _incident_warning(tuple(Finding.from_json(w) for w in refill.warnings))
    assert {"rule": RULE, "reason": SEEN, "given_at": "refill"} in refill.acknowledged
    assert refill.needs_verification  # a warning passed at the refill: a second clinician
    entry = AuditEntry.objects.get(action="refill.perform", object_id=str(refill.id))
    assert entry.after is not None
    assert {"rule": RULE, "reason": SEEN, "given_at": "refill"} in entry.after["overrides"]


def test_a_nurse_programs_between_refills_past_an_open_incident_with_her_typed_reason(
    implant: Implant, physician: User, pharmacist: User, nurse: User, incident: Incident
) -> None:
    """The correction stays possible: the incident's warning is the programmer's to pass (other
    warnings the prescriber gave no reason for still need a physician's)."""
    prescribed(physician, pharmacist, implant.id, baclofen(), dose("440 mcg/day"), at=DAY_60)
    preview = preview_program_change(nurse, implant.id, at=DAY_60)
    assert preview.stop is None
    assert "by nurse.joy" in _incident_warning(preview.warnings).message
    version = Implant.objects.get(id=implant.id).version
    with pytest.raises(Refusal) as refused:
        programs.program_pump(nurse, implant.id, expected_version=version, now=DAY_60)
    assert RULE in refused.value.value
    program = programs.program_pump(
        nurse, implant.id, expected_version=version, now=DAY_60, overrides={RULE: SEEN}
    )
    assert [w["rule"] for w in program.warnings] == [RULE]
    assert program.overrides == [{"rule": RULE, "reason": SEEN, "given_at": "programming"}]
    entry = AuditEntry.objects.get(action="program.change")
    assert entry.after is not None and entry.after["overrides"] == program.overrides


def test_once_a_physician_closes_the_incident_the_refill_no_longer_warns(
    implant: Implant, physician: User, nurse: User, incident: Incident
) -> None:
    readbacks.close_incident(physician, incident.id, "programmer corrected", DAY_60)
    preview = _preview(nurse, implant)
    assert RULE not in {w.rule for w in preview.warnings}
    refill = _refill(nurse, implant, {})
    assert RULE not in {w["rule"] for w in refill.warnings}
