"""The dead volume entered at implantation, judged against the catheter by the clinic's one use
case (clinic.actions.implantation): a volume the catheter rules out is refused naming the
computed volume and writes nothing; a catheter the catalog does not know, or a volume above what
the catheter holds, is registered only with a reason, kept in the audit entry; the preview shows
the same warnings; the demo's implants pass."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from frozen import ZONE
from painpump.clinic.actions import implantation, patients
from painpump.clinic.demo.plan import plan_clinic
from painpump.clinic.models import AuditEntry, Episode, Implant, Patient
from painpump.clinic.testing import MEDTRONIC_CATHETER, responder_episode
from painpump.core.dead_volume import ABOVE_CATHETER, UNCHECKED, judge_dead_volume
from painpump.core.decision import Verdict
from painpump.core.errors import Refusal
from painpump.core.units import Kind, of, parse

pytestmark = pytest.mark.django_db


def today() -> date:
    return timezone.localdate(timezone=ZONE)


def responder(physician: User, patient: Patient) -> Episode:
    episode = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=today() - timedelta(days=60)
    )
    return responder_episode(physician, episode.id, start=today() - timedelta(days=30))


def register(
    physician: User, episode: Episode, catheter: str, dead_volume: str, **extra: object
) -> Implant:
    return implantation.register_implantation(
        physician,
        episode.id,
        expected_version=episode.version,
        now=timezone.now(),
        pump_model="prometra-ii-20",
        pump_serial="PII000001",
        catheter_model=catheter,
        catheter_length_cm=Decimal(60),
        dead_volume=parse(dead_volume, Kind.VOLUME, "dead_volume"),
        alarm_volume=None,
        implanted_on=today(),
        **extra,  # type: ignore[arg-type]
    )


def test_a_dead_volume_below_what_the_catheter_holds_is_refused_and_writes_nothing(
    physician: User, patient: Patient
) -> None:
    episode = responder(physician, patient)
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as caught:
        register(physician, episode, "prometra-catheter", "0.1 mL")
    assert (caught.value.field, caught.value.value) == ("dead_volume", "0.1 mL")
    assert "the 0.156 mL the prometra-catheter holds (60 cm x 0.0026 mL/cm)" in caught.value.limit
    assert caught.value.source.startswith("prometra-ii-ifu")
    assert not Implant.objects.exists()
    assert AuditEntry.objects.count() == entries
    episode.refresh_from_db()
    assert episode.stage == "responder"


def test_the_catalog_catheters_volume_registers_with_no_warning(
    physician: User, patient: Patient
) -> None:
    implant = register(physician, responder(physician, patient), "prometra-catheter", "0.156 mL")
    assert implant.dead_volume_ml == Decimal("0.156")
    entry = AuditEntry.objects.get(action="implant.register")
    assert entry.after is not None and "acknowledged" not in entry.after


@pytest.mark.parametrize(
    ("catheter", "dead_volume", "rule"),
    [("8709SC", "0.25 mL", UNCHECKED), ("prometra-catheter", "0.3 mL", ABOVE_CATHETER)],
    ids=["catheter-not-in-the-catalog", "above-the-catheter"],
)
def test_a_dead_volume_the_catalog_cannot_confirm_needs_a_reason_kept_in_the_audit(
    physician: User, patient: Patient, catheter: str, dead_volume: str, rule: str
) -> None:
    episode = responder(physician, patient)
    preview = implantation.preview_implantation(
        physician,
        episode.id,
        implanted_on=today(),
        discharged_on=None,
        now=timezone.now(),
        catheter=(catheter, of(Decimal(60), "cm"), parse(dead_volume, Kind.VOLUME, "d")),
    )
    assert rule in {f.rule for f in preview.findings if f.verdict is Verdict.WARN}
    with pytest.raises(Refusal) as caught:
        register(physician, episode, catheter, dead_volume)
    assert (caught.value.field, caught.value.value) == ("acknowledge", rule)
    assert not Implant.objects.exists()
    with pytest.raises(Refusal, match="says nothing about why"):
        register(physician, episode, catheter, dead_volume, acknowledge={rule: "ok ok ok ok"})
    reason = "pump path volume from the manufacturer's calculations guide"
    register(physician, episode, catheter, dead_volume, acknowledge={rule: reason})
    entry = AuditEntry.objects.get(action="implant.register")
    assert entry.after is not None and entry.after["acknowledged"] == {rule: reason}


def test_an_acknowledgement_of_a_warning_the_dead_volume_does_not_give_is_refused(
    physician: User, patient: Patient
) -> None:
    with pytest.raises(Refusal, match="acknowledges no warning of this dead volume"):
        register(
            physician,
            responder(physician, patient),
            "prometra-catheter",
            "0.156 mL",
            acknowledge=dict(MEDTRONIC_CATHETER),
        )
    assert not Implant.objects.exists()


def test_every_demo_implant_passes_the_catheter_checks_and_gives_a_reason_where_it_warns() -> None:
    plans = plan_clinic(patients=60, seed=1, today=date(2026, 3, 2))
    devices = [plan.device for plan in plans if plan.device is not None]
    assert {d.catheter_model for d in devices} >= {"prometra-catheter", "8709SC"}
    for device in devices:
        decision = judge_dead_volume(
            device.catheter_model,
            of(device.catheter_length_cm, "cm"),
            of(device.dead_volume_ml, "mL"),
        )
        warned = [f.rule for f in decision.findings if f.verdict is Verdict.WARN]
        assert warned == ([UNCHECKED] if device.dead_volume_reason else [])
