"""Who gave an override, from where it was given as stored with it (never from its words): one
that travelled with the prescription is the prescriber's, when signing; one typed at the refill
or programming is the typist's, then, even in the prescriber's very words; one stored before
that was kept is the record's performer's, as recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from painpump.core.checks import check
from painpump.core.decision import Finding, Verdict
from painpump.core.errors import Refusal
from painpump.core.overrides import GivenAt, GivenOverride, Override, attributed, overrides_for
from painpump.core.units import Kind, parse

SIGNED = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
FILLED = SIGNED + timedelta(hours=1)
PRESCRIBERS_WORDS = "established dose carried over"


def refill_by_the_nurse(*passed: Override) -> tuple[GivenOverride, ...]:
    return attributed(
        passed, signed=("dr.house", SIGNED), by="nurse.joy", at=FILLED, where=GivenAt.REFILL
    )


def test_a_carried_reason_is_the_prescribers_and_a_typed_one_the_nurses() -> None:
    found = refill_by_the_nurse(
        Override("max_start_dose", PRESCRIBERS_WORDS, GivenAt.PRESCRIBING),
        Override("reconciliation", "pump interrogated, no catheter problem", GivenAt.REFILL),
    )
    assert found == (
        GivenOverride("max_start_dose", PRESCRIBERS_WORDS, "dr.house", SIGNED, GivenAt.PRESCRIBING),
        GivenOverride(
            "reconciliation",
            "pump interrogated, no catheter problem",
            "nurse.joy",
            FILLED,
            GivenAt.REFILL,
        ),
    )
    assert [g.words for g in found] == ["at prescribing", "at the refill"]


def test_a_nurse_typing_the_prescribers_very_words_is_credited_to_the_nurse() -> None:
    """Regression: the credit was decided by comparing the refill's reason with the
    prescription's for the rule, so the same words typed by the nurse went to the prescriber."""
    [found] = refill_by_the_nurse(Override("max_start_dose", PRESCRIBERS_WORDS, GivenAt.REFILL))
    assert (found.by, found.at, found.where, found.as_recorded) == (
        "nurse.joy",
        FILLED,
        GivenAt.REFILL,
        False,
    )


def test_a_reason_typed_at_a_programming_is_the_physicians_who_programmed() -> None:
    [found] = attributed(
        (Override("max_start_dose", "dose confirmed with the patient today", GivenAt.PROGRAMMING),),
        signed=("dr.house", SIGNED),
        by="dr.who",
        at=FILLED,
        where=GivenAt.PROGRAMMING,
    )
    assert (found.by, found.at, found.words) == ("dr.who", FILLED, "at the programming")


def test_an_override_stored_before_where_it_was_given_was_kept_is_the_performers_as_recorded() -> (
    None
):
    """No text is compared: the prescriber's very words, stored without where, stay the nurse's,
    worded as recorded."""
    [found] = refill_by_the_nurse(Override("max_start_dose", PRESCRIBERS_WORDS, None))
    assert (found.by, found.at, found.where, found.as_recorded) == (
        "nurse.joy",
        FILLED,
        GivenAt.REFILL,
        True,
    )
    assert found.words == "at the refill, as recorded (who gave it was not stored then)"
    assert found.as_json()["as_recorded"] is True


def test_a_prescribing_credit_on_a_record_that_executed_no_prescription_is_as_recorded() -> None:
    [found] = attributed(
        (Override("max_start_dose", PRESCRIBERS_WORDS, GivenAt.PRESCRIBING),),
        signed=None,
        by="nurse.joy",
        at=FILLED,
        where=GivenAt.REFILL,
    )
    assert (found.by, found.where, found.as_recorded) == ("nurse.joy", GivenAt.REFILL, True)


def test_where_an_override_was_given_is_stored_with_it_and_read_back() -> None:
    given = Override("max_start_dose", PRESCRIBERS_WORDS, GivenAt.PRESCRIBING)
    assert given.as_json() == {
        "rule": "max_start_dose",
        "reason": PRESCRIBERS_WORDS,
        "given_at": "prescribing",
    }
    assert Override.from_json(given.as_json()) == given
    older = {"rule": "max_start_dose", "reason": PRESCRIBERS_WORDS}
    assert Override.from_json(older) == Override("max_start_dose", PRESCRIBERS_WORDS, None)
    assert Override.from_json("max_start_dose").given_at is None


def _warnings() -> list[Finding]:
    decision = check(
        "morphine",
        parse("10 mg/mL", Kind.CONCENTRATION, "c"),
        parse("30 mg/day", Kind.DOSE_RATE, "d"),
    )
    return [f for f in decision.findings if f.verdict is Verdict.WARN]


def test_a_reason_carried_with_the_prescription_passes_given_at_prescribing() -> None:
    warnings = _warnings()
    carried = tuple(Override(w.rule, PRESCRIBERS_WORDS, GivenAt.PRESCRIBING) for w in warnings)
    passed = overrides_for(warnings, {}, GivenAt.REFILL, carried)
    assert set(passed) == set(carried)


def test_the_prescribers_words_typed_again_pass_given_where_they_were_typed() -> None:
    warnings = _warnings()
    carried = tuple(Override(w.rule, PRESCRIBERS_WORDS, GivenAt.PRESCRIBING) for w in warnings)
    typed = {w.rule: PRESCRIBERS_WORDS for w in warnings}
    passed = overrides_for(warnings, typed, GivenAt.REFILL, carried)
    assert {o.given_at for o in passed} == {GivenAt.REFILL}


def test_a_warning_neither_carried_nor_typed_for_is_refused() -> None:
    with pytest.raises(Refusal) as caught:
        overrides_for(_warnings(), {}, GivenAt.REFILL, ())
    assert caught.value.field == "overrides"
