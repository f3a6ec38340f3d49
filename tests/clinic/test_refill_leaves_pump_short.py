"""A refill whose fill leaves the baclofen pump's low-reservoir alarm within the clinic's refill
margin (the next refill due at once) is refused without a typed reason naming the rule, recorded
with one, and waits for a second clinician; the review shows it as a warning, not a note; a fill
not above the pump's alarm volume is refused on the fill volume with its value and limit."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth.models import User

from frozen import TODAY, ZONE
from painpump.clinic.actions import refills
from painpump.clinic.models import AuditEntry, Implant, Refill
from painpump.clinic.reads import pump_history
from painpump.clinic.reads.refill_preview import preview_refill
from painpump.clinic.testing import baclofen
from painpump.core.errors import Refusal
from painpump.core.scheduling import WEEKDAYS
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db

REASON = "patient travels abroad, next refill booked for Monday morning"
SUNDAY = datetime.combine(
    TODAY - timedelta(days=(TODAY.weekday() - 6) % 7 or 7), time(10, 0), tzinfo=ZONE
)
"""The last Sunday before today, 10:00 at the clinic (closed on Sundays)."""


def left(implant: Implant) -> Q:
    """What the pump's twin says is left at the refill: the pump delivered as recorded."""
    return pump_history.expected_residual(implant, SUNDAY).least


def short_refill(user: User, implant: Implant, **extra: object) -> Refill:
    """2.5 mL of baclofen at 0.2 mL/day: the 2 mL alarm comes 2.5 days after the fill."""
    return refills.perform_refill(
        user,
        implant.id,
        idempotency_key="short",
        performed_at=SUNDAY,
        expected=left(implant),
        aspirated=left(implant),
        fill=baclofen(volume="2.5 mL"),
        **extra,  # type: ignore[arg-type]
    )


def test_a_short_fill_is_refused_without_a_reason_naming_the_rule(
    implant: Implant, nurse: User
) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(Refusal) as refused:
        short_refill(nurse, implant)
    assert refused.value.field == "overrides" and refused.value.value == "refill_margin"
    assert "refill_margin" in refused.value.limit
    assert "the next refill is due at once" in refused.value.problem
    assert Refill.objects.count() == 1 and AuditEntry.objects.count() == before


def test_a_short_fill_recorded_with_a_reason_waits_for_a_second_clinician(
    implant: Implant, nurse: User
) -> None:
    refill = short_refill(nurse, implant, overrides={"refill_margin": REASON})
    assert refill.needs_verification and refill.verified_by == ""
    assert refill.refill_by == SUNDAY.date()
    (warning,) = refill.warnings
    assert warning["rule"] == "refill_margin" and warning["tier"] == "soft"
    alarm = (SUNDAY + timedelta(days=2.5)).astimezone(ZONE)
    assert refill.alarm_at == alarm  # the moment the warning names is the one stored
    message = warning["message"]
    weekday = WEEKDAYS[alarm.weekday()][:3]
    assert f"2.5 day after the fill, on {weekday} {alarm:%Y-%m-%d %H:%M %Z}" in message
    assert f"the next refill is due at once (refill by Sun {SUNDAY:%Y-%m-%d})" in message
    assert (
        f"no open day of the clinic lies from this fill to the refill-by date (Sun "
        f"{SUNDAY:%Y-%m-%d}: closed on Sunday)"
    ) in message
    assert "abrupt withdrawal can be life-threatening" in message
    assert [(o["rule"], o["reason"]) for o in refill.acknowledged] == [("refill_margin", REASON)]
    entry = AuditEntry.objects.filter(action="refill.perform").latest("seq")
    assert entry.after is not None and entry.after["needs_verification"] is True


def test_the_review_shows_the_short_fill_as_a_warning_not_a_note(
    implant: Implant, nurse: User
) -> None:
    preview = preview_refill(
        nurse,
        implant.id,
        at=SUNDAY,
        expected=left(implant),
        aspirated=left(implant),
        fill=baclofen(volume="2.5 mL"),
    )
    assert [w.rule for w in preview.warnings] == ["refill_margin"]
    assert all(note.rule != "refill_margin" for note in preview.notes)
    assert preview.needs_verification


def test_a_full_refill_has_no_such_warning(implant: Implant, nurse: User) -> None:
    refill = refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="full",
        performed_at=SUNDAY,
        expected=left(implant),
        aspirated=left(implant),
        fill=baclofen(),
    )
    assert refill.warnings == [] and not refill.needs_verification


def test_a_fill_below_the_alarm_is_refused_on_the_fill_volume(
    implant: Implant, nurse: User
) -> None:
    with pytest.raises(Refusal) as refused:
        refills.perform_refill(
            nurse,
            implant.id,
            idempotency_key="tiny",
            performed_at=SUNDAY,
            expected=left(implant),
            aspirated=left(implant),
            fill=replace(baclofen(), volume=parse("1 mL", Kind.VOLUME, "v")),
        )
    assert (refused.value.field, refused.value.value) == ("volume", "1 mL")
    assert refused.value.limit == "> 2 mL (low-reservoir alarm of synchromed-ii-20)"
    assert "1 mL does not exceed the low-reservoir alarm volume 2 mL of synchromed-ii-20" in str(
        refused.value
    )
    assert Refill.objects.count() == 1
