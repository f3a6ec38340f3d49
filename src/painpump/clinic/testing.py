"""What tests and the drills' clinics (painpump.devtools) share: an account made with its roles
and its creation audited, a spasticity episode taken through a baclofen test phase to the
responder decision, the way a clinic records it, and a baclofen fill. Each takes its dates from
the caller: the tests build theirs from their frozen clock (tests/frozen.py), the drills from the
clinic's today."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Unpack
from uuid import UUID

from django.contrib.auth.models import Group, User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.actions import pathway, prescriptions
from painpump.clinic.actions.users import account_snapshot
from painpump.clinic.models import Episode, Implant, Prescription
from painpump.clinic.roles import Role
from painpump.core import prescription as rx
from painpump.core.baclofen import ScreeningBolus
from painpump.core.dose_history import Phase
from painpump.core.pathway.episode import Facts
from painpump.core.prescription_compare import CheckEntries
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, Q, parse

FIXTURE = "painpump fixture"
"""The actor the trail names for the accounts `audited_user` makes."""


def audited_user(
    username: str, *roles: Role, password: str | None = None, actor: str = FIXTURE
) -> User:
    """An account holding `roles` at once (no second admin approves them), its creation audited
    as the demo audits its users (`user.create`, with the roles and flags it holds), so that
    `painpump audit verify` compares it rather than report an account made outside the
    application. Without `password` it cannot sign in with one."""
    with transaction.atomic():
        user = User.objects.create_user(username, password=password)
        for role in roles:
            user.groups.add(Group.objects.get_or_create(name=role.value)[0])
        audit.record(actor, "user.create", "user", username, after=account_snapshot(user))
    return user


def _step(
    physician: User, episode: Episode, action: str, now: datetime, **facts: Unpack[Facts]
) -> Episode:
    row, _ = pathway.step(
        physician, episode.id, action, expected_version=episode.version, now=now, **facts
    )
    return row


def responder_episode(
    physician: User, episode_id: UUID, *, start: date, remove_catheter: bool = True
) -> Episode:
    """Test phase from `start` (bolus protocol), a positive 50 mcg screening bolus that day, the
    responder decision two days later (a two-day stay) and, as the demo plan records it, the
    temporary catheter's removal that day (an implantation is refused without it); pass
    `remove_catheter=False` for a responder whose catheter is still in."""
    at = datetime.combine(start, time(10, 0), tzinfo=UTC)
    episode = Episode.objects.get(id=episode_id)
    episode = _step(physician, episode, "start_test_phase", at, on=start, protocol="bolus")
    bolus = ScreeningBolus(parse("50 mcg", Kind.MASS, "bolus"), positive=True, given_at=at)
    episode = _step(physician, episode, "record_screening_bolus", at, bolus=bolus)
    decided = start + timedelta(days=2)
    episode = _step(
        physician,
        episode,
        "decide_test_phase",
        datetime.combine(decided, time(10, 0), tzinfo=UTC),
        on=decided,
        outcome="responder",
    )
    if not remove_catheter:
        return episode
    removed_at = datetime.combine(decided, time(15, 0), tzinfo=UTC)
    return _step(physician, episode, "record_catheter_removal", removed_at, on=decided)


CARRIED_OVER: Mapping[str, str] = {
    "max_start_dose": "established dose carried over from the previous pump"
}
"""The reason a pump's first fill at a patient's established dose (baclofen 400 mcg/day, above
the 200 mcg/day label start) passes the start-dose warning, as `overrides` of the refill: the
fixtures' and drills' patients had their dose titrated before this pump, not started on it."""


MEDTRONIC_CATHETER: Mapping[str, str] = {
    "dead_volume_unchecked": "dead volume of the Medtronic catheter read from the implant record"
}
"""The reason the fixtures' and drills' SynchroMed II implants (an 8709SC catheter, whose volume
per cm no source gives, so the catheter catalog does not hold it) pass the warning that their
dead volume is not checked against the catheter, as `acknowledge` of the implantation."""


def baclofen(concentration: str = "2000 mcg/mL", volume: str = "20 mL") -> Fill:
    """A baclofen fill (lot LOT-42) as the refill tests use it."""
    return Fill(
        drugs=(("baclofen", parse(concentration, Kind.CONCENTRATION, "c")),),
        volume=parse(volume, Kind.VOLUME, "v"),
        lot="LOT-42",
    )


def prescribed(
    physician: User,
    checker: User | None,
    implant_id: UUID,
    drugs: Fill | tuple[tuple[str, Q], ...],
    dose: Q,
    *,
    at: datetime,
    overrides: Mapping[str, str] | None = None,
    phase: Phase | None = None,
    reason: str = "prescribed as planned at the clinic visit",
    fluid_change: rx.FluidChange | None = None,
) -> Prescription:
    """A continuous prescription signed by `physician` and, when it is high-alert, accepted by
    `checker` (a pharmacist or another physician) entering the same values: ready to program. A
    change of the principal drug's concentration is bridged unless `fluid_change` says else."""
    pairs = drugs.drugs if isinstance(drugs, Fill) else drugs
    implant = Implant.objects.get(id=implant_id)
    program = rx.PrescribedProgram.continuous(dose)
    if fluid_change is None:
        fluid_change = _bridged(implant, pairs)
    record = prescriptions.prescribe(
        physician,
        implant_id,
        rx.Prescription(pairs, program, phase=phase, fluid_change=fluid_change),
        reason=reason,
        now=at,
        expected_version=implant.version,
        overrides=overrides,
    )
    if record.status == Prescription.Status.AWAITING_CHECK:
        assert checker is not None, "a high-alert prescription needs its double-check"
        prescriptions.double_check(
            checker,
            record.id,
            entries=CheckEntries(pairs, program, None, fluid_change),
            accept=True,
            comment="",
            now=at,
        )
        record.refresh_from_db()
    return record


def _bridged(implant: Implant, drugs: tuple[tuple[str, Q], ...]) -> rx.FluidChange:
    last = implant.refills.order_by("-performed_at").first()
    if last is None:
        return rx.FluidChange.NONE
    name, conc = last.drugs.order_by("position").values_list("drug", "concentration_mcg_per_ml")[0]
    same = name == drugs[0][0] and conc != drugs[0][1].canonical
    return rx.FluidChange.BRIDGE if same else rx.FluidChange.NONE
