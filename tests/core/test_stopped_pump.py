"""A stopped-pump prescription (the device's "stopped pump" mode): no dose, rate or clinic limit
refuses it; every drug whose abrupt stop risks withdrawal warns, as does a pump whose labeling
names the overinfusion a long stop risks; it keeps the fluid the pump holds, takes no patient
boluses, and its twin gives nothing from its start."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.test_single_bolus import AT, BACLOFEN, RULES, empty_pump, running_baclofen
from painpump.core import catalog
from painpump.core.clinic_limits import clinic_limit, parse_value
from painpump.core.decision import Tier
from painpump.core.errors import Refusal
from painpump.core.prescription import (
    STOPPED_WORDS,
    FluidChange,
    PrescribedProgram,
    Prescription,
    ProgramKind,
    check_shape,
    flex_program,
    lowest,
    patient_bolus,
    single_bolus,
    step_row,
)
from painpump.core.prescription_compare import CheckEntries, compare_check
from painpump.core.prescription_decision import decide_prescription
from painpump.core.pump_twin import (
    PumpHistory,
    RecordedFill,
    RecordedProgram,
    forecast,
    projection,
    stored_dates,
)
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import PumpState, decide_program_change, restart_findings
from painpump.core.units import Kind, parse
from painpump.core.withdrawal import stopped_words

STOP = PrescribedProgram.stopped()
ZICONOTIDE = (("ziconotide", parse("100 mcg/mL", Kind.CONCENTRATION, "c")),)


def history(drugs: tuple[tuple[str, Decimal], ...], *programs: RecordedProgram) -> PumpHistory:
    filled = AT - timedelta(days=30)
    return PumpHistory(
        pump=catalog.pump("synchromed-ii-20", "p"),
        alarm_volume_ml=Decimal(2),
        dead_volume_ml=Decimal("0.2"),
        tz=ZoneInfo("Europe/Berlin"),
        fills=(RecordedFill(filled, Decimal(20), drugs),),
        programs=programs,
    )


def baclofen_history() -> PumpHistory:
    """20 mL of baclofen 2000 mcg/mL filled 30 days before AT, 400 mcg/day (0.2 mL/day) since."""
    drugs = (("baclofen", Decimal(2000)),)
    basal = PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d"))
    return history(drugs, RecordedProgram(AT - timedelta(days=30), drugs, basal, None))


def test_a_stop_of_baclofen_passes_every_limit_and_warns_of_withdrawal_and_a_long_stop() -> None:
    decision = decide_prescription(running_baclofen(), Prescription(BACLOFEN, STOP), AT, RULES)
    assert decision.stop is None
    assert decision.rate_ml_per_day == 0
    by_rule = {w.rule: w for w in decision.warnings}
    assert set(by_rule) == {"pump_stopped", "stopped_pump_overinfusion"}
    withdrawal = by_rule["pump_stopped"]
    assert "baclofen stops abruptly, which risks withdrawal" in withdrawal.message
    assert "boxed warning: abrupt discontinuation" in withdrawal.source
    assert withdrawal.tier is Tier.SOFT
    stall = by_rule["stopped_pump_overinfusion"]
    assert "stopped for more than 48 h risks overinfusion" in stall.message
    assert "MRI" in stall.message
    assert stall.limit == "a stop of at most 48 h, or a reason"
    assert "hsa-2016-synchromed-overinfusion" in stall.source
    assert "medtronic-mri-guidelines-synchromed-ii" in stall.source


def test_a_hard_clinic_decrease_limit_does_not_refuse_a_stop() -> None:
    """The minimum rate is refused by a hard largest single decrease; a stop is not a rate."""
    rule = "max_decrease_percent"
    decrease = clinic_limit(
        catalog.drug("baclofen"),
        rule,
        parse_value(rule, "20 %"),
        "hard",
        "clinic policy",
        region="us",
    )
    rules = replace(RULES, clinic_limits=(decrease,))
    decision = decide_prescription(running_baclofen(), Prescription(BACLOFEN, STOP), AT, rules)
    assert decision.stop is None
    programmed = decide_program_change(
        running_baclofen(),
        parse("0 mcg/day", Kind.DOSE_RATE, "d"),
        AT,
        None,
        rules,
        prescription=Prescription(BACLOFEN, STOP),
    )
    assert programmed.stop is None
    assert programmed.rate_ml_per_day == 0
    assert {w.rule for w in programmed.warnings} == {"pump_stopped", "stopped_pump_overinfusion"}


def test_a_drug_stopped_without_known_withdrawal_warns_only_of_the_long_stop() -> None:
    state = running_baclofen("ziconotide", 100, 2)
    decision = decide_prescription(state, Prescription(ZICONOTIDE, STOP), AT, RULES)
    assert decision.stop is None
    assert [w.rule for w in decision.warnings] == ["stopped_pump_overinfusion"]


def test_a_pump_without_the_long_stop_risk_in_its_labeling_warns_only_of_withdrawal() -> None:
    state = replace(running_baclofen(), pump=catalog.pump("prometra-ii-20", "p"))
    decision = decide_prescription(state, Prescription(BACLOFEN, STOP), AT, RULES)
    assert [w.rule for w in decision.warnings] == ["pump_stopped"]


@pytest.mark.parametrize(
    ("state", "drugs", "shown"),
    [
        (empty_pump(), BACLOFEN, ""),
        (
            running_baclofen(),
            (("baclofen", parse("1000 mcg/mL", Kind.CONCENTRATION, "c")),),
            " (baclofen 2000 mcg/mL)",
        ),
    ],
    ids=["first-fill", "other-fluid"],
)
def test_a_stop_keeps_the_fluid_the_pump_holds(
    state: object, drugs: tuple[tuple[str, object], ...], shown: str
) -> None:
    decision = decide_prescription(state, Prescription(drugs, STOP), AT, RULES)  # type: ignore[arg-type]
    assert decision.stop is not None
    assert decision.stop.field == "program.kind"
    assert decision.stop.value == "stopped"
    assert decision.stop.problem == "cannot be given with this fluid"
    assert decision.stop.limit.startswith(
        "the fluid the pump holds"
    ) and decision.stop.limit.endswith("refills of a filled pump" + shown)


def test_a_stopped_pump_takes_no_patient_boluses() -> None:
    ptm = patient_bolus("50 mcg", "2 min", "3 hour", "4")
    with pytest.raises(Refusal) as refused:
        check_shape(catalog.pump("synchromed-ii-20", "p"), STOP, ptm)
    assert refused.value.field == "ptm"
    assert refused.value.limit == "none with a stopped pump: it gives nothing"


def test_a_constant_flow_pump_cannot_be_stopped_by_a_program() -> None:
    with pytest.raises(Refusal) as refused:
        check_shape(catalog.pump("constant-flow", "p"), STOP, None)
    assert refused.value.field == "program.kind"
    assert refused.value.value == "stopped"


def test_the_twin_gives_nothing_from_the_stop_and_dates_the_pump_by_stability_only() -> None:
    drugs = (("baclofen", Decimal(2000)),)
    running = baclofen_history()
    stopped = replace(running, programs=(*running.programs, RecordedProgram(AT, drugs, STOP, None)))
    # 30 days at 0.2 mL/day: 14 mL left, and still 14 mL a year on
    assert forecast(stopped, AT).residual_ml == Decimal(14)
    later = forecast(stopped, AT + timedelta(days=365))
    assert later.residual_ml == Decimal(14)
    assert later.alarm_at is None and later.empty_at is None
    dated = stored_dates(stopped, AT, margin_days=Decimal(7))
    assert dated.alarm_at is None and dated.empty_at is None
    assert dated.limited_by.value == "stability"
    # the baclofen fill's stability: 180 days from 31 Jan (the running pump's alarm came first)
    assert dated.refill_by == date(2026, 7, 30)
    assert stored_dates(running, AT, margin_days=Decimal(7)).refill_by == date(2026, 4, 24)


def test_reviewer_case_a_stopped_drug_without_a_stability_rule_is_due_by_the_held_interval() -> (
    None
):
    """Hydromorphone has no stability rule: a stopped pump of it never alarms, so it is due by
    the library's interval for a fluid held in a stopped pump (90 days from the fill, a clinic
    setting, unverified), never about 3 years on "limited by the reservoir"."""
    drugs = (("hydromorphone", Decimal(2000)),)
    basal = PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d"))
    stopped = history(
        drugs,
        RecordedProgram(AT - timedelta(days=30), drugs, basal, None),
        RecordedProgram(AT, drugs, STOP, None),
    )
    dated = stored_dates(stopped, AT, margin_days=Decimal(7))
    assert dated.alarm_at is None
    assert dated.limited_by is LimitedBy.HELD  # the programming PDF said "drug's stability"
    assert dated.limited_by.words == (
        "longest time a fluid with no stability rule stays in a stopped pump"
    )
    assert dated.refill_by == (AT - timedelta(days=30)).date() + timedelta(days=90)
    shown = projection(
        stopped, AT, margin_days=Decimal(7), stability=None, tz=ZoneInfo("Europe/Berlin")
    )
    assert shown.stability is not None and shown.stability.days == 90
    assert shown.stability.rule == "stopped_pump_max_interval" and not shown.stability.verified
    assert shown.stability.source.startswith("rule-clinic-setting")
    running = history(drugs, RecordedProgram(AT - timedelta(days=30), drugs, basal, None))
    assert stored_dates(running, AT, margin_days=Decimal(7)).limited_by is LimitedBy.RESERVOIR


def test_a_program_change_to_a_stop_is_dated_by_the_twin_with_the_stop() -> None:
    state = replace(running_baclofen(), history=baclofen_history())
    decision = decide_program_change(
        state,
        parse("0 mcg/day", Kind.DOSE_RATE, "d"),
        AT,
        None,
        RULES,
        prescription=Prescription(BACLOFEN, STOP),
    )
    assert decision.stop is None and decision.twin is not None and decision.projection is not None
    assert decision.twin.alarm_at is None and decision.twin.empty_at is None
    assert decision.projection.left == parse("14 mL", Kind.VOLUME, "v")
    assert decision.projection.alarm_at is None
    assert decision.projection.refill_by == decision.twin.refill_by


def test_the_chart_shows_a_stopped_pump_stopped_since_its_programming() -> None:
    drugs = (("baclofen", Decimal(2000)),)
    running = baclofen_history()
    stopped = replace(running, programs=(*running.programs, RecordedProgram(AT, drugs, STOP, None)))
    found = projection(
        stopped, AT + timedelta(days=2), margin_days=Decimal(7), stability=None, tz=UTC
    )
    assert found.stopped
    assert found.stopped_since == AT
    assert found.bolus is None
    assert found.daily_volume.canonical == 0


def test_the_double_check_compares_the_kind_of_a_stop() -> None:
    prescribed = Prescription(BACLOFEN, STOP)
    same = compare_check(prescribed, CheckEntries(BACLOFEN, STOP, None))
    assert same == ()
    running = PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d"))
    differs = compare_check(prescribed, CheckEntries(BACLOFEN, running, None))
    assert differs


def test_a_stop_is_named_as_a_stopped_pump_in_words() -> None:
    assert ProgramKind.STOPPED.label == "stopped pump"
    assert STOP.words == STOPPED_WORDS
    assert STOP.largest_day.canonical == 0


def test_a_stop_with_a_bridge_or_priming_is_refused_the_fluid_does_not_change() -> None:
    """The reviewer's case: a stop with "priming" was stored, then asked of the double-check."""
    for change in (FluidChange.PRIMING, FluidChange.BRIDGE):
        stop = Prescription(BACLOFEN, STOP, fluid_change=change)
        refused = decide_prescription(running_baclofen(), stop, AT, RULES).stop
        assert refused is not None
        assert (refused.field, refused.value) == ("fluid_change", change.value)
        assert refused.problem == "has nothing to deliver"


def stopped_for(hours: int) -> PumpState:
    """running_baclofen's pump (400 mcg/day before the stop) stopped `hours` before AT."""
    return replace(running_baclofen(), stopped_since=AT - timedelta(hours=hours))


def restart(dose: str) -> Prescription:
    return Prescription(BACLOFEN, PrescribedProgram.continuous(parse(dose, Kind.DOSE_RATE, "d")))


def test_reviewer_case_a_lower_restart_is_never_a_cut_even_under_a_hard_clinic_decrease() -> None:
    """A restart at 200 mcg/day after a stop of 400 mcg/day: 50 % below the dose before the stop,
    beyond a hard clinic decrease of 15 %; the pump gives nothing, so it is no cut."""
    rule = "max_decrease_percent"
    decrease = clinic_limit(
        catalog.drug("baclofen"), rule, parse_value(rule, "15 %"), "hard", "policy", region="us"
    )
    rules = replace(RULES, clinic_limits=(decrease,))
    decision = decide_prescription(stopped_for(72), restart("200 mcg/day"), AT, rules)
    assert decision.stop is None
    rules_found = {w.rule for w in decision.warnings}
    assert not {r for r in rules_found if "decrease" in r}
    assert {"restart_after_stop", "restart_after_long_stop"} <= rules_found
    programmed = decide_program_change(
        stopped_for(72),
        parse("200 mcg/day", Kind.DOSE_RATE, "d"),
        AT,
        None,
        rules,
        prescription=restart("200 mcg/day"),
    )
    assert programmed.stop is None
    assert {"restart_after_stop", "restart_after_long_stop"} <= {
        w.rule for w in programmed.warnings
    }


def test_reviewer_case_a_restart_at_the_old_dose_warns_that_tolerance_may_be_lost() -> None:
    decision = decide_prescription(stopped_for(72), restart("400 mcg/day"), AT, RULES)
    assert decision.stop is None
    by_rule = {w.rule: w for w in decision.warnings}
    warned = by_rule["restart_after_stop"]
    assert warned.message.startswith("the pump has given no basal dose for 3 days (since ")
    assert "the dose before the stop (400 mcg/day) may now be too much" in warned.message
    assert warned.source.startswith("rule-conservative-default")
    assert not warned.verified and warned.tier is Tier.SOFT
    long = by_rule["restart_after_long_stop"]
    assert "stopped for 3 days, more than 48 h: a risk factor for overinfusion" in long.message
    assert "hsa-2016-synchromed-overinfusion" in long.source


def test_a_restart_within_48_hours_warns_of_tolerance_only() -> None:
    decision = decide_prescription(stopped_for(24), restart("400 mcg/day"), AT, RULES)
    rules_found = {w.rule for w in decision.warnings}
    assert "restart_after_stop" in rules_found and "restart_after_long_stop" not in rules_found
    message = next(w.message for w in decision.warnings if w.rule == "restart_after_stop")
    assert message.startswith("the pump has given no basal dose for 24 h")


def test_a_restart_above_the_dose_before_the_stop_is_a_step_from_it() -> None:
    running = decide_prescription(running_baclofen(), restart("600 mcg/day"), AT, RULES)
    restarted = decide_prescription(stopped_for(72), restart("600 mcg/day"), AT, RULES)
    assert restarted.stop is not None and running.stop is not None
    assert restarted.stop.problem == running.stop.problem


def test_reviewer_case_patient_boluses_added_at_a_restart_are_a_step_from_before_the_stop() -> None:
    """400 mcg/day before the stop, no patient boluses; a restart at 400 mcg/day with 4 boluses
    of 50 mcg a day gives a worst day of 600 mcg: +50 % from before the stop, stopped as on a
    running pump (it passed with the restart's warning alone)."""
    ptm = patient_bolus("50 mcg", "2 min", "3 hour", "4")
    with_boluses = replace(restart("400 mcg/day"), ptm=ptm)
    restarted_now = decide_prescription(stopped_for(72), with_boluses, AT, RULES).stop
    running_now = decide_prescription(running_baclofen(), with_boluses, AT, RULES).stop
    assert restarted_now is not None and running_now is not None
    assert restarted_now.problem == running_now.problem
    assert "from 400 mcg/day to 600 mcg/day is +50.00 %" in restarted_now.problem


def test_reviewer_case_a_low_restart_with_patient_boluses_below_before_the_stop_is_no_step() -> (
    None
):
    """400 mcg/day before the stop; a restart at 100 mcg/day with 4 boluses of 50 mcg a day gives
    a worst day of 300 mcg: below the day before the stop, so no step (it was judged +200 % from
    the restart's own 100 mcg/day)."""
    ptm = patient_bolus("50 mcg", "2 min", "3 hour", "4")
    decision = decide_prescription(
        stopped_for(72), replace(restart("100 mcg/day"), ptm=ptm), AT, RULES
    )
    assert decision.stop is None, decision.stop
    assert not [w for w in decision.warnings if "worst day" in w.message and "step" in w.rule]


def test_reviewer_case_a_flex_restart_above_the_old_rate_for_hours_is_a_step() -> None:
    """A restart of 100 mcg/day until noon and 700 mcg/day after (400 mcg/day over the day) is
    judged from 400 mcg/day where it gives more: its afternoon, +75 %, stopped as on a running
    pump (it passed with the restart's warning alone)."""
    program = flex_program(
        [
            step_row("every day", "00:00", "100 mcg/day", "steps[0]"),
            step_row("every day", "12:00", "700 mcg/day", "steps[1]"),
        ]
    )
    decision = decide_prescription(stopped_for(72), Prescription(BACLOFEN, program), AT, RULES)
    running_now = decide_prescription(
        running_baclofen(), Prescription(BACLOFEN, program), AT, RULES
    )
    assert decision.stop is not None and running_now.stop is not None
    assert decision.stop.problem == running_now.stop.problem
    assert "from 400 mcg/day to 700 mcg/day is +75.00 %" in decision.stop.problem


def test_the_lowest_of_two_programs_is_the_lower_rate_at_each_moment() -> None:
    before = PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d"))
    after = flex_program(
        [
            step_row("every day", "00:00", "100 mcg/day", "s"),
            step_row("every day", "12:00", "700 mcg/day", "s"),
        ]
    )
    low = lowest(before, after)
    assert [(s.start, str(s.dose)) for s in low.days[0]] == [
        ("00:00", "100 mcg/day"),
        ("12:00", "400 mcg/day"),
    ]


def test_reviewer_case_a_bolus_on_a_stopped_pump_is_no_cut_and_stops_nothing() -> None:
    """On a running pump a 50 mcg bolus stops baclofen after it (and is no "decrease of 87.5 %"
    of the 400 mcg/day it replaces); on a stopped pump it stops nothing (it warns as a
    restart)."""
    bolus = Prescription(BACLOFEN, PrescribedProgram.single_bolus(single_bolus("50 mcg", "1 hour")))
    running_now = {
        w.rule for w in decide_prescription(running_baclofen(), bolus, AT, RULES).warnings
    }
    assert "stops_after_single_bolus" in running_now
    assert "max_decrease_percent" not in running_now
    stopped_now = decide_prescription(stopped_for(72), bolus, AT, RULES)
    assert stopped_now.stop is None
    assert {w.rule for w in stopped_now.warnings} == {
        "restart_after_stop",
        "restart_after_long_stop",
    }


def test_reviewer_case_a_restart_with_another_drug_names_the_drug_it_restarts_with() -> None:
    morphine = parse("1 mg/day", Kind.DOSE_RATE, "d")
    [tolerance, _] = restart_findings(stopped_for(72), AT, RULES, "morphine", morphine)
    assert tolerance.drug == "morphine"
    assert "restarts with morphine in place of baclofen (400 mcg/day before the stop)" in (
        tolerance.message
    )
    assert "start morphine low and titrate" in tolerance.message


def test_a_restart_minutes_after_a_stop_is_a_restart_counted_in_minutes() -> None:
    """A single bolus stops the basal program when it is programmed: a restart signed while it
    runs is a restart, no cut."""
    bolus_running = replace(running_baclofen(), stopped_since=AT - timedelta(minutes=10))
    decision = decide_prescription(bolus_running, restart("200 mcg/day"), AT, RULES)
    assert "max_decrease_percent" not in {w.rule for w in decision.warnings}
    warned = next(w for w in decision.warnings if w.rule == "restart_after_stop")
    assert warned.message.startswith("the pump has given no basal dose for 10 min (since ")


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "less than a minute"),
        (59, "less than a minute"),
        (40 * 60, "40 min"),
        (3600, "1 h"),
        (47 * 3600, "47 h"),
        (49 * 3600, "2 days"),
    ],
)
def test_how_long_a_pump_has_been_stopped_reads_in_minutes_hours_or_days(
    seconds: int, words: str
) -> None:
    assert stopped_words(seconds) == words


def test_reviewer_case_a_full_dose_restart_after_a_week_is_judged_against_the_start_dose() -> None:
    """Baclofen 400 mcg/day before a stop of 8 days: above the largest start dose (200 mcg/day)
    it needs its own reason, at or below it none; after 3 days the start dose is not asked."""
    week = decide_prescription(stopped_for(8 * 24), restart("400 mcg/day"), AT, RULES)
    assert week.stop is None
    by_rule = {w.rule: w for w in week.warnings}
    above = by_rule["restart_above_start_dose"]
    assert above.message.startswith(
        "the pump has given no basal dose for 8 days, more than 7 days: tolerance may be lost, so "
        "the restart is judged as a new start: 400 mcg/day exceeds the maximum start dose "
        "200 mcg/day"
    )
    assert above.tier is Tier.SOFT and not above.verified
    assert "lioresal-label" in above.source and "rule-clinic-setting" in above.source
    low = decide_prescription(stopped_for(8 * 24), restart("200 mcg/day"), AT, RULES)
    assert "restart_above_start_dose" not in {w.rule for w in low.warnings}
    days = decide_prescription(stopped_for(72), restart("400 mcg/day"), AT, RULES)
    assert "restart_above_start_dose" not in {w.rule for w in days.warnings}


def test_a_restart_after_a_long_stop_is_judged_against_the_start_dose_at_programming_too() -> None:
    programmed = decide_program_change(
        stopped_for(8 * 24),
        parse("400 mcg/day", Kind.DOSE_RATE, "d"),
        AT,
        None,
        RULES,
        prescription=restart("400 mcg/day"),
    )
    assert "restart_above_start_dose" in {w.rule for w in programmed.warnings}


def test_a_drug_without_tolerance_to_lose_has_no_restart_start_rule() -> None:
    assert catalog.drug("ziconotide").restart_as_start_after is None
    after = catalog.drug("baclofen").restart_as_start_after
    assert after is not None and not after.verified
    assert after.source.startswith("rule-clinic-setting")


def test_a_stop_of_a_pump_stopped_already_stops_nothing_now() -> None:
    decision = decide_prescription(stopped_for(72), Prescription(BACLOFEN, STOP), AT, RULES)
    assert {w.rule for w in decision.warnings} == {"stopped_pump_overinfusion"}


def test_a_bolus_on_a_stopped_pump_compares_its_size_with_the_day_before_the_stop() -> None:
    bolus = Prescription(
        BACLOFEN, PrescribedProgram.single_bolus(single_bolus("400 mcg", "1 hour"))
    )
    decision = decide_prescription(stopped_for(72), bolus, AT, RULES)
    size = next(w for w in decision.warnings if w.rule == "single_bolus_size")
    assert (
        "as much as the 400 mcg/day of baclofen the pump gave in a whole day before it stopped"
        in (size.message)
    )


def test_a_program_given_while_a_single_bolus_runs_warns_that_it_ends_the_bolus_early() -> None:
    started = AT - timedelta(minutes=15)
    bolus = single_bolus("60 mcg", "1 hour")
    running = replace(stopped_for(0), stopped_since=started, single_bolus=(started, bolus))
    decision = decide_program_change(
        running,
        parse("200 mcg/day", Kind.DOSE_RATE, "d"),
        AT,
        None,
        RULES,
        prescription=restart("200 mcg/day"),
    )
    cut = next(w for w in decision.warnings if w.rule == "ends_single_bolus")
    assert "programming now ends it after 15 min of 1 h, with about 15 mcg given" in cut.message
    assert cut.tier is Tier.SOFT and not cut.verified
    later = decide_program_change(
        running,
        parse("200 mcg/day", Kind.DOSE_RATE, "d"),
        AT + timedelta(hours=1),
        None,
        RULES,
        prescription=restart("200 mcg/day"),
    )
    assert "ends_single_bolus" not in {w.rule for w in later.warnings}


def test_a_bolus_on_a_stopped_pump_is_worded_as_a_bolus_not_a_restart() -> None:
    bolus = Prescription(BACLOFEN, PrescribedProgram.single_bolus(single_bolus("50 mcg", "1 hour")))
    decision = decide_prescription(stopped_for(72), bolus, AT, RULES)
    warned = next(w for w in decision.warnings if w.rule == "restart_after_stop")
    assert "and gives a single bolus of baclofen: tolerance to baclofen may have fallen" in (
        warned.message
    )
    assert "restarts" not in warned.message


def test_reviewer_case_patient_boluses_count_in_a_restart_judged_against_the_start_dose() -> None:
    """150 mcg/day with 4 boluses of 25 mcg a day after 8 days stopped: a worst day of 250 mcg,
    above baclofen's largest start dose (200 mcg/day), though its basal day is below it."""
    ptm = patient_bolus("25 mcg", "2 min", "3 hour", "4")
    decision = decide_prescription(
        stopped_for(8 * 24), replace(restart("150 mcg/day"), ptm=ptm), AT, RULES
    )
    above = next(w for w in decision.warnings if w.rule == "restart_above_start_dose")
    assert "250 mcg/day exceeds the maximum start dose 200 mcg/day" in above.message
