"""The what-if runs the pump's twin on the prescription in force (issue 13, item 5): with the dose
left empty, or given as prescribed, a refill now projects the prescription's own flex steps and
patient boluses, exactly as the refill that executes it records its dates; another dose projects
a continuous program and says the flex steps are not applied. Was: on a flex + PTM pump the
what-if called the program "continuous" and a refill now gave an alarm earlier than the stored
one although the fill was later."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from flex_pump import BACLOFEN, FILLED, flex_ptm_pump, refill
from frozen import NOW
from painpump.clinic.models import AuditEntry, Implant
from painpump.clinic.reads.chart import patient_chart
from painpump.clinic.reads.whatif import Proposal, current_pump, what_if
from painpump.clinic.testing import baclofen, prescribed
from painpump.core.refill_decision import PtmCounts
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db

TWENTY_ML = parse("20 mL", Kind.VOLUME, "volume")
STEPS = "mon-fri: 00:00 480 mcg/day, 06:00 400 mcg/day; sat-sun: 00:00 380 mcg/day"


def refill_now(dose: Q | None = None) -> Proposal:
    return Proposal("refill", dose, TWENTY_ML, tuple(conc for _, conc in BACLOFEN))


@pytest.fixture
def flex(implant: Implant, physician: User, pharmacist: User, nurse: User) -> Implant:
    return flex_ptm_pump(implant, physician, pharmacist, nurse)


def test_a_refill_as_prescribed_projects_the_dates_the_refill_then_stores(
    flex: Implant, physician: User, nurse: User
) -> None:
    stored_before = flex.alarm_at
    outcome = what_if(physician, flex.id, refill_now(), NOW)
    assert outcome.stop is None and outcome.projection is not None
    assert outcome.as_prescribed == 2 and outcome.program_note == ""
    refill(nurse, flex, NOW, "flex-now", PtmCounts(60, 50))
    stored = Implant.objects.get(id=flex.id)
    projected = outcome.projection
    assert (projected.alarm_at, projected.empty_at, projected.refill_by) == (
        stored.alarm_at,
        stored.empty_at,
        stored.refill_by,
    )
    assert stored_before is not None and projected.alarm_at > stored_before  # a later fill


def test_the_prescribed_dose_given_runs_the_prescriptions_own_program(
    flex: Implant, physician: User
) -> None:
    empty = what_if(physician, flex.id, refill_now(), NOW)
    given = what_if(physician, flex.id, refill_now(parse("420 mcg/day", Kind.DOSE_RATE, "d")), NOW)
    as_rate = what_if(
        physician, flex.id, refill_now(parse("0.21 mL/day", Kind.VOLUME_RATE, "r")), NOW
    )
    assert empty.projection is not None
    for outcome in (given, as_rate):
        assert outcome.as_prescribed == 2
        assert outcome.projection is not None
        assert outcome.projection.alarm_at == empty.projection.alarm_at
    assert empty.words == "baclofen 2000 mcg/mL at 0.21 mL/day = 420 mcg/day, flex"
    assert empty.steps == STEPS
    assert empty.patient_bolus == "10 mcg over 2 min, lockout 4 h, at most 4 a day"
    entry = AuditEntry.objects.filter(action="implant.what_if").order_by("at").first()
    assert entry is not None and entry.after is not None
    assert (entry.after["dose_or_rate"], entry.after["program"]) == (
        "as prescribed",
        "prescription #2",
    )


def test_another_dose_projects_a_continuous_program_and_says_so(
    flex: Implant, physician: User
) -> None:
    outcome = what_if(
        physician, flex.id, refill_now(parse("440 mcg/day", Kind.DOSE_RATE, "d")), NOW
    )
    assert outcome.as_prescribed is None and outcome.steps == ""
    assert outcome.words == "baclofen 2000 mcg/mL at 0.22 mL/day = 440 mcg/day, continuous"
    assert outcome.program_note == (
        "continuous at 440 mcg/day: the prescription's flex steps are not applied; to try "
        "another flex program, review it on the prescription form, which shows its twin's dates "
        "before it is signed"
    )
    assert outcome.patient_bolus  # the patient boluses in force still run


def test_the_running_program_is_worded_as_the_chart_words_it(
    flex: Implant, physician: User
) -> None:
    current = current_pump(physician, flex.id, NOW)
    assert current.words == "baclofen 2000 mcg/mL at 0.21 mL/day = 420 mcg/day, flex"
    assert (current.prescription, current.steps) == (2, STEPS)
    assert current.patient_bolus == "10 mcg over 2 min, lockout 4 h, at most 4 a day"
    assert current.fill_at == FILLED


def test_the_pump_now_shows_the_prescribed_dose_not_one_rebuilt_from_the_rounded_rate(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    """The reviewer's case: "Now" gave 491.166 mcg/day and "Proposed" 491.167 for one program;
    the stored rate is rounded to 6 places (0.2000005 mL/day here), the dose is not."""
    dose = parse("400.001 mcg/day", Kind.DOSE_RATE, "d")
    prescribed(physician, pharmacist, implant.id, baclofen(), dose, at=NOW - timedelta(hours=1))
    refill(nurse, implant, NOW, "odd-dose")
    now = current_pump(physician, implant.id, NOW + timedelta(hours=1))
    assert [d.dose for d in now.doses] == [dose]
    chart = patient_chart(physician, implant.episode.patient_id, NOW + timedelta(hours=1))
    assert chart.program is not None and [d.dose for d in chart.program.doses] == [dose]
