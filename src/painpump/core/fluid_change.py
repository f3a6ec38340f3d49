"""The old fluid in the pump tubing and catheter when a prescription's fluid replaces it
(rule-fluid-change): whether the prescribed way (none, bridge, priming bolus) fits what the path
holds, what each gives of the old drug (a priming bolus's push judged as any single bolus of that
drug is), and the priming bolus the pump then runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from painpump.core import catalog, checks
from painpump.core.catalog import Limit, Pump
from painpump.core.decision import Finding, Subject, Tier, Verdict
from painpump.core.device_limits import check_rate
from painpump.core.dosing import concentration_in_drug_unit, dose_in_drug_unit
from painpump.core.errors import Refusal
from painpump.core.prescription import SECONDS_PER_DAY, FluidChange, Prescription
from painpump.core.units import Q, of
from painpump.core.volumes import bridge, priming_warning

RULES = "rule-fluid-change"
PRIMING_PREFIX = "priming_"
"""What the priming bolus pushes is judged by the single-bolus rules (checks.check_single_bolus)
under their names prefixed priming_: a reason typed for a patient bolus never passes it."""
PRIMED_BOLUS = "the priming bolus"
PRIMING_DAY = "priming_day_"
"""The rule prefix of the priming day's total against a drug's maximum daily dose."""


def acknowledged_at_fill(rule: str) -> bool:
    """A warning about the priming bolus (every rule prefixed priming_): it runs at the refill,
    so the clinician who fills acknowledges it there, beside the prescriber's reason."""
    return rule.startswith(PRIMING_PREFIX)


PHYSICIAN_PUSH = "rule-physician-priming-push"
PHYSICIAN_WORDS = f"a physician runs this priming bolus at the refill ({PHYSICIAN_PUSH})"


def physician_at_fill(rule: str) -> bool:
    """A priming warning of a limit its push breaks (a largest single bolus, a maximum daily dose
    on the day of the refill): a physician runs that priming bolus at the refill, never on a
    nurse's acknowledgement alone (PHYSICIAN_PUSH)."""
    limit = rule.removeprefix(PRIMING_PREFIX)
    return rule.startswith(PRIMING_DAY) or (limit != rule and limit.endswith("max_single_bolus"))


Drugs = tuple[tuple[str, Decimal], ...]
"""Drug names with concentrations in mcg/mL, the principal first."""


def changes(path: Drugs | None, drugs: Sequence[tuple[str, Q]]) -> bool:
    """True when a fill of `drugs` replaces another fluid in the path (None: a first fill,
    whose path holds no drug yet)."""
    return path is None or tuple((name, conc.canonical) for name, conc in drugs) != path


@dataclass(frozen=True)
class Priming:
    """A priming bolus: the path's volume pushed at the pump's highest rate, and what it pushes
    of each drug the path held (none for a path of saline or CSF)."""

    volume: Q
    duration_s: int
    pushed: tuple[tuple[str, Q], ...] = ()

    @property
    def duration(self) -> Q:
        return of(Decimal(self.duration_s), "min")

    def words(self) -> str:
        """ "the 0.25 mL in the pump tubing and catheter pushed over 15 min: 500 mcg of
        baclofen as one bolus"."""
        shown = f"the {self.volume} in the pump tubing and catheter pushed over {self.duration}"
        if not self.pushed:
            return shown
        return (
            shown
            + ": "
            + ", ".join(f"{dose} of {name}" for name, dose in self.pushed)
            + (" as one bolus")
        )


def priming(pump: Pump, dead_volume: Q, path: Drugs | None = None) -> Priming:
    """The priming bolus of the implant's dead volume at the pump's highest rate (that rate's
    source says whether it is verified), pushing what the path holds (each drug in its unit)."""
    rate = pump.max_rate.value.canonical
    seconds = -(-dead_volume.canonical * SECONDS_PER_DAY // rate)
    return recorded_priming(dead_volume.canonical, max(int(seconds), 1), path)


def recorded_priming(volume_ml: Decimal, duration_s: int, path: Drugs | None) -> Priming:
    """A priming bolus of `volume_ml` over `duration_s` (as a refill recorded it), pushing what
    the path held (`path`: the fill before's drugs, mcg/mL; None: a first fill's factory
    fluid), each drug in its unit."""
    pushed = tuple(
        (name, of(volume_ml * conc, catalog.drug(name).dose_unit)) for name, conc in path or ()
    )
    return Priming(of(volume_ml, "mL"), duration_s, pushed)


def at_fill(
    pump: Pump, dead_volume: Q, path: Drugs | None, prescription: Prescription
) -> tuple[Decimal | None, Priming | None]:
    """What a fill executing `prescription` runs from the path of the pump now: the bridge's
    rate (mL/day) or the priming bolus, as core.refill_decision.plan_fill records them."""
    if pump.fixed_rate or dead_volume.canonical <= 0 or not changes(path, prescription.drugs):
        return None, None
    change = prescription.fluid_change
    if change is FluidChange.PRIMING:
        return None, priming(pump, dead_volume, path)
    name, conc = prescription.principal
    if change is FluidChange.BRIDGE and path and path[0] != (name, conc.canonical):
        if path[0][0] != name:
            return None, None
        old = of(path[0][1], "mcg/mL")
        planned = bridge(old, conc, prescription.daily_dose, dead_volume)
        return planned.bridge_rate.canonical, None
    return None, None


def judge(
    pump: Pump,
    dead_volume: Q,
    path: Drugs | None,
    prescription: Prescription,
    running_rate_ml_per_day: Decimal | None = None,
    *,
    region: str | None = None,
    clinic_limits: Sequence[Limit] = (),
) -> list[Finding]:
    """The prescription's fluid change against the path of the pump now (and the rate its
    running program gives it, None when none runs): refused where it cannot be run, leaves a
    change of concentration unplanned, pushes a whole day's dose as one bolus or pushes more of
    a drug than a single bolus of it may give (the library's and `clinic_limits`, the day's
    ceiling for `region`; None: the strictest region's); each soft finding names what the old
    fluid gives."""
    change = prescription.fluid_change
    changed = changes(path, prescription.drugs)
    if change is FluidChange.NONE:
        if not changed:
            return []
        return _unplanned(pump, dead_volume, path, prescription, running_rate_ml_per_day)
    if pump.fixed_rate:
        raise Refusal(
            "fluid_change",
            change.value,
            "none: a constant-flow pump runs no bridge or priming bolus",
            pump.flex_steps_per_day.source,
            "cannot be programmed",
        )
    if dead_volume.canonical <= 0:
        raise Refusal(
            "fluid_change",
            change.value,
            "none: the implant's recorded dead volume (pump tubing and catheter) is 0 mL",
            RULES,
            "has no volume to run",
        )
    if change is FluidChange.BRIDGE:
        return _bridge(pump, dead_volume, path, prescription, changed)
    if not changed:
        raise Refusal(
            "fluid_change",
            "priming",
            "none: the fluid does not change, so no refill runs a priming bolus for it",
            RULES,
            "has nothing to prime",
        )
    pushed = priming(pump, dead_volume, path)
    found = [
        priming_warning(),
        *_pushed(pushed, path, running_rate_ml_per_day),
        *_as_single_bolus(pushed, _instead(path, prescription), region, clinic_limits),
        *_priming_day(pushed, prescription, region),
    ]
    return [
        replace(f, message=f"{f.message}; {PHYSICIAN_WORDS}") if physician_at_fill(f.rule) else f
        for f in found
    ]


def _priming_day(pushed: Priming, prescription: Prescription, region: str | None) -> list[Finding]:
    """The day of the refill: what the priming bolus pushes of a drug on top of the new program's
    worst day of it (every patient bolus given), against the drug's maximum daily doses; a hard
    one broken refuses the fluid change, a soft one warns (rule prefixed priming_day_)."""
    principal_conc = prescription.principal[1]
    found: list[Finding] = []
    for name, amount in pushed.pushed:
        conc = dict(prescription.drugs).get(name)
        drug = catalog.drug(name)
        program = (
            prescription.worst_day.canonical * conc.canonical / principal_conc.canonical
            if conc is not None
            else Decimal(0)
        )
        day = of(amount.canonical + program, "mcg/day")
        program_day = of(program, "mcg/day").to(drug.dose_rate_unit)
        given = f"{amount} pushed by the priming bolus and {program_day} of the new program's day"
        for finding in checks.check_daily_dose(drug, day, region, floor=False):
            if finding.rule != "max_daily_dose" or finding.verdict is Verdict.OK:
                continue
            message = f"on the day of the refill {finding.message} ({given})"
            if finding.verdict is Verdict.STOP:
                raise replace(finding, rule=PRIMING_DAY + finding.rule, message=message).refusal(
                    "fluid_change",
                    f"priming: {day.to(drug.dose_rate_unit)} of {name} on the day of the "
                    f"refill ({given})",
                    "bridge, or empty the path first",
                )
            found.append(
                replace(
                    finding.about(Subject.DOSE, name),
                    rule=PRIMING_DAY + finding.rule,
                    message=message,
                )
            )
    return found


def _unplanned(
    pump: Pump,
    dead_volume: Q,
    path: Drugs | None,
    prescription: Prescription,
    running_rate_ml_per_day: Decimal | None,
) -> list[Finding]:
    """The old fluid run at the new program's rate: refused when that changes the dose of a
    drug the new fluid holds at another concentration (the principal's always; a partner's when
    the rate changes too, wherever it stands in the admixture); a soft finding when another
    principal drug is in the path."""
    if not path or dead_volume.canonical <= 0:
        return []
    (old_name, old_conc), (new_name, _) = path[0], prescription.principal
    if pump.fixed_rate and old_name == new_name:
        return []  # the fixed rate gives the old dose until the new concentration arrives
    rate = prescription.rate_ml_per_day(prescription.daily_dose)
    new = {name: conc.canonical for name, conc in prescription.drugs}
    rate_changes = running_rate_ml_per_day is None or rate != running_rate_ml_per_day
    for name, conc in path:
        if name in new and new[name] != conc and (name == new_name or rate_changes):
            raise Refusal(
                "fluid_change",
                "none",
                f"bridge or priming: the {dead_volume} in the pump tubing and catheter hold "
                f"{name} {concentration_in_drug_unit(name, conc)}; at the new program's rate it "
                f"would give {_factor(conc / new[name])} the prescribed dose of {name} until "
                f"{concentration_in_drug_unit(name, new[name])} arrives",
                RULES,
                "leaves the change of concentration unplanned",
            )
    if old_name == new_name:
        return []
    hours = dead_volume.canonical / rate * 24
    return [
        Finding(
            "old_fluid_at_new_rate",
            Verdict.WARN,
            f"the {dead_volume} in the pump tubing and catheter hold {old_name} "
            f"{concentration_in_drug_unit(old_name, old_conc)}: at the new program's rate it "
            f"gives {dose_in_drug_unit(old_name, rate * old_conc)} of {old_name} for "
            f"{_hours(hours)} before {new_name} arrives",
            "a bridge, a priming bolus or this delivery acknowledged",
            RULES,
            verified=False,
            subject=Subject.DOSE,
            drug=old_name,
            tier=Tier.SOFT,
        )
    ]


def _bridge(
    pump: Pump, dead_volume: Q, path: Drugs | None, prescription: Prescription, changed: bool
) -> list[Finding]:
    """A bridge keeps the prescribed dose of the same drug at its old concentration: refused
    for a first fill, a change of drug or no change; its rate must be one the pump runs."""
    new_name, new_conc = prescription.principal
    if not path:
        reason = "the pump tubing and catheter hold no drug before a first fill"
    elif not changed:
        reason = "the fluid does not change"
    elif path[0][0] != new_name:
        reason = (
            f"the path holds {path[0][0]}, not {new_name}: a bridge keeps the dose of the same "
            "drug at its old concentration"
        )
    elif path[0][1] == new_conc.canonical:
        reason = f"the concentration of {new_name} does not change"
    else:
        planned = bridge(of(path[0][1], "mcg/mL"), new_conc, prescription.daily_dose, dead_volume)
        check_rate(pump, planned.bridge_rate, "fluid_change", f"bridge at {planned.bridge_rate}")
        return []
    raise Refusal(
        "fluid_change",
        "bridge",
        f"none or priming: {reason}",
        RULES,
        "has nothing to bridge",
    )


def _pushed(
    pushed: Priming, path: Drugs | None, running_rate_ml_per_day: Decimal | None
) -> list[Finding]:
    """What a priming bolus pushes of each drug in the path, as one bolus: refused (hard) when
    it is as much as the running program gives that drug in a whole day, else a soft warning
    naming the amount and that day's dose."""
    minutes = Decimal(pushed.duration_s) / 60
    found = []
    for (name, amount), (_, conc) in zip(pushed.pushed, path or (), strict=True):
        day = (
            dose_in_drug_unit(name, running_rate_ml_per_day * conc)
            if running_rate_ml_per_day
            else None
        )
        if day is not None and amount.canonical >= day.canonical:
            raise Refusal(
                "fluid_change",
                "priming",
                f"< {day} of {name} (what the running program gives in a whole day) pushed as "
                f"one bolus; the priming bolus pushes {amount} within about "
                f"{minutes.quantize(Decimal(1))} min: bridge, or empty the path first",
                RULES,
                "pushes a whole day's dose as one bolus",
            )
        found.append(
            Finding(
                "priming_pushes_old_drug",
                Verdict.WARN,
                f"the priming bolus pushes the {pushed.volume} in the pump tubing and catheter "
                f"within about {minutes.quantize(Decimal(1))} min: {amount} of {name} as one "
                "bolus",
                f"< {day} of {name} (a whole day's dose)"
                if day
                else f"no program runs: no whole day's dose of {name} to judge it against",
                RULES,
                verified=False,
                subject=Subject.DOSE,
                drug=name,
                tier=Tier.SOFT,
            )
        )
    return found


def _as_single_bolus(
    pushed: Priming, instead: str, region: str | None, clinic_limits: Sequence[Limit]
) -> list[Finding]:
    """What the priming bolus pushes of each drug, judged as any single bolus of it is
    (checks.check_single_bolus: the library's largest single bolus by its tier, the clinic's own
    in `clinic_limits`, the day's ceiling): a hard limit broken refuses the fluid change naming
    the amount, the limit and its source; a soft one warns under its rule prefixed priming_,
    naming the amount and what to prescribe `instead`."""
    minutes = (Decimal(pushed.duration_s) / 60).quantize(Decimal(1))
    how = (
        f"it pushes the {pushed.volume} in the pump tubing and catheter within about {minutes} "
        f"min; {instead}"
    )
    found: list[Finding] = []
    for name, amount in pushed.pushed:
        judged = checks.check_single_bolus(
            catalog.drug(name), amount, region, PRIMED_BOLUS, clinic_limits
        )
        for finding in judged:
            if finding.verdict is Verdict.STOP:
                raise replace(finding, rule=PRIMING_PREFIX + finding.rule).refusal(
                    "fluid_change",
                    f"priming: {amount} of {name} as one bolus within about {minutes} min",
                    instead,
                )
        warned = [
            replace(
                finding.about(Subject.DOSE, name),
                rule=PRIMING_PREFIX + finding.rule,
                message=f"{finding.message}: {how}",
            )
            for finding in judged
            if finding.verdict is Verdict.WARN
        ]
        found += [f.in_admixture() for f in warned] if len(pushed.pushed) > 1 else warned
    return found


def _instead(path: Drugs | None, prescription: Prescription) -> str:
    """What delivers the old fluid without pushing it as one bolus: a bridge where one runs
    (the same principal drug at another concentration), else the old fluid at the new rate or
    an emptied path."""
    name, conc = prescription.principal
    if path and path[0][0] == name and path[0][1] != conc.canonical:
        return (
            "a bridge instead delivers the old fluid at the rate that gives the prescribed dose "
            "at its concentration"
        )
    if path and path[0][0] != name:
        return (
            "no bridge runs for another drug: run the old fluid at the new program's rate "
            "instead, or empty the path first"
        )
    return "empty the path first"


def _factor(ratio: Decimal) -> str:
    return f"{ratio.quantize(Decimal('0.01')).normalize():f} times"


def _hours(hours: Decimal) -> str:
    return f"{hours.quantize(Decimal('0.1'))} h"
