"""Clinic drug-library limits: added, changed and archived by a pharmacist or an admin only, under
optimistic concurrency and audited with before and after; they only tighten the packaged library;
a refill or a titration breaking a clinic hard limit (once approved by a second clinician, see
test_limit_approval.py) is refused naming the clinic's source, and a soft one warns and passes
only with a reason typed for it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL, second_clinician, titrated, written_entries
from painpump.clinic import audit
from painpump.clinic.actions import library, programs, refills
from painpump.clinic.errors import Conflict, NotFound
from painpump.clinic.models import AuditEntry, ClinicLimit, Implant, Prescription, Program, Refill
from painpump.clinic.reads import clinic_limits
from painpump.clinic.roles import Forbidden
from painpump.clinic.testing import baclofen, prescribed
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db

POLICY = "Baclofen policy BP-7, section 3"
DAY_60 = FIRST_FILL + timedelta(days=60)


def dose(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "dose")


def baclofen_daily(user: User, value: str, severity: str = "hard", key: str = "") -> ClinicLimit:
    return library.add_limit(
        user,
        drug="baclofen",
        rule="max_daily_dose",
        value=dose(value),
        severity=severity,
        source=POLICY,
        idempotency_key=key or str(uuid4()),
    )


def increase_prescribed(physician: User, implant: Implant, **kwargs: object) -> Prescription:
    """Baclofen from 400 to 440 mcg/day (+10 %, within the label's 15 % for spasticity of
    cerebral origin), prescribed the morning of the day-60 refill and double-checked."""
    return prescribed(
        physician,
        second_clinician(physician),
        implant.id,
        baclofen(),
        dose("440 mcg/day"),
        at=DAY_60 - timedelta(hours=2),
        **kwargs,  # type: ignore[arg-type]
    )


def refill_with_increase(user: User, implant: Implant) -> Refill:
    """The refill at day 60 executing the increase prescribed."""
    return refills.perform_refill(
        user,
        implant.id,
        idempotency_key=str(uuid4()),
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=baclofen(),
        dose=dose("440 mcg/day"),
    )


@pytest.mark.parametrize("role_user", ["pharmacist", "admin"])
def test_a_pharmacist_or_an_admin_adds_a_limit_and_it_is_audited(
    request: pytest.FixtureRequest, role_user: str
) -> None:
    user: User = request.getfixturevalue(role_user)
    severity = "hard" if role_user == "pharmacist" else "soft"
    row = baclofen_daily(user, "420 mcg/day", severity)
    assert (row.value, row.unit, row.severity) == (Decimal("420"), "mcg/day", severity)
    assert row.set_by == user.get_username()
    entry = AuditEntry.objects.get(action="library.limit.add")
    assert entry.after is not None
    assert entry.after["value"] == "420 mcg/day"
    assert entry.after["source"] == POLICY
    assert audit.verify().ok


@pytest.mark.parametrize("role_user", ["physician", "nurse", "auditor"])
def test_other_roles_may_not_add_a_limit_and_nothing_is_stored(
    request: pytest.FixtureRequest, role_user: str
) -> None:
    with pytest.raises(Forbidden):
        baclofen_daily(request.getfixturevalue(role_user), "420 mcg/day")
    assert not ClinicLimit.objects.exists()
    assert not written_entries().exists()


def test_every_role_reads_the_limits(nurse: User, auditor: User, pharmacist: User) -> None:
    baclofen_daily(pharmacist, "420 mcg/day")
    assert len(clinic_limits.list_limits(nurse)) == 1
    assert len(clinic_limits.list_limits(auditor)) == 1


def test_a_user_without_a_role_may_not_read_the_limits(db: None) -> None:
    nobody = User.objects.create_user("nobody", password="x" * 12)
    with pytest.raises(Forbidden):
        clinic_limits.list_limits(nobody)


def test_a_retried_add_records_the_limit_once(pharmacist: User) -> None:
    first = baclofen_daily(pharmacist, "420 mcg/day", key="same")
    again = baclofen_daily(pharmacist, "420 mcg/day", key="same")
    assert first.id == again.id
    assert ClinicLimit.objects.count() == 1


def test_a_limit_that_would_loosen_the_library_is_refused_and_nothing_is_stored(
    pharmacist: User,
) -> None:
    with pytest.raises(Refusal) as caught:
        library.add_limit(
            pharmacist,
            drug="baclofen",
            rule="max_concentration",
            value=parse("3000 mcg/mL", Kind.CONCENTRATION, "value"),
            severity="hard",
            source=POLICY,
            idempotency_key="k",
        )
    assert caught.value.field == "value"
    assert "may only tighten" in caught.value.problem
    assert not ClinicLimit.objects.exists()


def test_a_second_active_limit_of_the_same_rule_and_severity_is_refused(pharmacist: User) -> None:
    baclofen_daily(pharmacist, "420 mcg/day")
    with pytest.raises(Refusal) as caught:
        baclofen_daily(pharmacist, "410 mcg/day")
    assert caught.value.field == "rule"
    baclofen_daily(pharmacist, "410 mcg/day", "soft")  # a warning before the stop is allowed


def test_a_change_is_versioned_and_audited_with_before_and_after(pharmacist: User) -> None:
    row = baclofen_daily(pharmacist, "420 mcg/day")
    changed = library.change_limit(
        pharmacist,
        row.id,
        expected_version=row.version,
        value=dose("0.45 mg/day"),
        severity="soft",
        source=POLICY + " (rev. 2)",
    )
    assert changed.version == 2 and changed.unit == "mg/day"
    entry = AuditEntry.objects.get(action="library.limit.change")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["value"], entry.after["value"]) == ("420 mcg/day", "0.45 mg/day")
    assert (entry.before["severity"], entry.after["severity"]) == ("hard", "soft")
    with pytest.raises(Conflict):
        library.change_limit(
            pharmacist,
            row.id,
            expected_version=1,
            value=dose("400 mcg/day"),
            severity="soft",
            source=POLICY,
        )
    changed.refresh_from_db()
    assert changed.value == Decimal("0.45")


def test_an_archived_limit_stays_on_record_and_no_longer_applies(
    pharmacist: User, physician: User, implant: Implant
) -> None:
    row = baclofen_daily(pharmacist, "420 mcg/day")
    archived = library.archive_limit(pharmacist, row.id, expected_version=row.version)
    assert archived.archived_at is not None and archived.archived_by == "pharma.cist"
    assert ClinicLimit.objects.filter(id=row.id).exists()
    assert clinic_limits.active_limits() == ()
    assert AuditEntry.objects.filter(action="library.limit.archive").exists()
    increase_prescribed(physician, implant)
    assert refill_with_increase(physician, implant).program.dose_mcg_per_day == Decimal(440)
    with pytest.raises(Refusal):
        library.archive_limit(pharmacist, row.id, expected_version=archived.version)


def test_an_unknown_limit_is_not_found(pharmacist: User) -> None:
    with pytest.raises(NotFound):
        library.archive_limit(pharmacist, uuid4(), expected_version=1)


def test_a_refill_breaking_a_clinic_hard_limit_is_refused_naming_the_clinics_source(
    pharmacist: User, physician: User, nurse: User, implant: Implant
) -> None:
    """The increase was prescribed before the limit was approved: the refill executing it is
    refused, and so is prescribing it again."""
    row = baclofen_daily(pharmacist, "420 mcg/day")
    increase_prescribed(physician, implant)
    library.approve_limit(physician, row.id, expected_version=row.version)  # the second approver
    with pytest.raises(Refusal) as caught:
        refill_with_increase(nurse, implant)
    assert caught.value.field == "dose"
    assert "clinic_max_daily_dose" in caught.value.problem
    assert POLICY in caught.value.source
    assert "pharma.cist" in caught.value.source
    assert Refill.objects.count() == 1  # only the first fill
    with pytest.raises(Refusal) as again:
        increase_prescribed(physician, implant)
    assert "clinic_max_daily_dose" in again.value.problem and POLICY in again.value.source
    assert Prescription.objects.filter(implant=implant).count() == 2


def test_a_refill_breaking_a_clinic_soft_limit_warns_and_needs_a_reason(
    pharmacist: User, physician: User, nurse: User, implant: Implant
) -> None:
    """The physician gives the reason when prescribing; the refill executing the prescription
    carries it (the double-check before it was the second clinician's look)."""
    baclofen_daily(pharmacist, "420 mcg/day", "soft")
    with pytest.raises(Refusal) as caught:
        increase_prescribed(physician, implant)
    assert caught.value.field == "overrides"
    assert "clinic_max_daily_dose" in caught.value.limit
    assert POLICY in caught.value.source
    reason = "spasms persist at 400 mcg/day, agreed with pharmacy"
    prescription = increase_prescribed(
        physician, implant, overrides={"clinic_max_daily_dose": reason}
    )
    given = {"rule": "clinic_max_daily_dose", "reason": reason, "given_at": "prescribing"}
    assert prescription.overrides == [given]
    assert prescription.checked_by == "pharma.cist"
    refill = refill_with_increase(nurse, implant)
    assert [w["rule"] for w in refill.warnings] == ["clinic_max_daily_dose"]
    assert refill.acknowledged == [given]
    assert not refill.needs_verification


def test_a_titration_breaking_a_clinic_step_limit_is_refused(
    pharmacist: User, physician: User, nurse: User, implant: Implant
) -> None:
    """Refused when prescribed; and a titration prescribed before the limit was approved is
    refused when the pump is programmed with it."""
    row = library.add_limit(
        pharmacist,
        drug="baclofen",
        rule="max_step_percent",
        value=Decimal("5"),
        severity="hard",
        source=POLICY,
        idempotency_key="step",
    )
    at = FIRST_FILL + timedelta(days=3)
    prescribed(physician, pharmacist, implant.id, baclofen(), dose("440 mcg/day"), at=at)
    library.approve_limit(physician, row.id, expected_version=row.version)
    with pytest.raises(Refusal) as programming:
        programs.program_pump(
            nurse,
            implant.id,
            expected_version=Implant.objects.get(id=implant.id).version,
            now=at,
        )
    assert "clinic_max_step_percent" in programming.value.problem
    assert POLICY in programming.value.source
    assert Program.objects.filter(implant=implant).count() == 1
    with pytest.raises(Refusal) as caught:
        prescribed(physician, pharmacist, implant.id, baclofen(), dose("440 mcg/day"), at=at)
    assert "clinic_max_step_percent" in caught.value.problem
    assert POLICY in caught.value.source
    program = titrated(physician, implant.id, dose("420 mcg/day"), at=at, programmer=nurse)
    assert program.dose_mcg_per_day == Decimal("420")
