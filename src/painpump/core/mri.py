"""What the team does around an MRI scan, per pump: the catalog's MRI behaviour (`mri` in
pumps.toml: the SynchroMed II motor stall, the Prometra II valve shut-off, or none recorded) turned
into instructions before, during and after the scan, each with the source it rests on. A pump
whose MRI behaviour no source in the catalog gives gets one instruction: check its labeling."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from painpump.core import catalog
from painpump.core.catalog import Pump

SYNCHROMED_SOURCE = (
    "medtronic-mri-guidelines-synchromed-ii: the MRI field stops the pump motor and suspends "
    "infusion during the scan; a 2-24 hour delay before proper infusion returns; motor stall "
    "triggers the two-tone alarm; check the pump's status after the MRI"
)
PROMETRA_EMPTY_SOURCE = (
    "flowonix-prometra-mri-safety-pl-21604-02: empty the pump before MRI (as much as 20 mL or "
    "40 mL of drug removed depending on the pump)"
)
PROMETRA_VALVE_SOURCE = (
    "prometra-ii-ifu: the Flow Activated Valve shuts off flow in strong magnetic fields, "
    "delivering <= 10 microlitres, and stays closed until a manual reset (p.14)"
)
BACLOFEN_SOURCE = (
    "baclofen-intrathecal-openfda-label: abrupt discontinuation has caused high fever, altered "
    "mental status, rebound spasticity, muscle rigidity and, rarely, rhabdomyolysis, multiple "
    "organ-system failure and death"
)
LABELING_SOURCE = (
    "rule-clinic-setting: no source in the pump catalog gives this pump's MRI behaviour; verify "
    "against the device labeling"
)
_KEY = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
CLONIDINE_SOURCE = (
    "duraclon-label: risk of rebound hypertension; not to be discontinued except under a "
    "physician's supervision"
)
OPIOID_SOURCE = (
    "rule-conservative-default: an interrupted intrathecal opioid risks withdrawal and a return "
    "of pain; plan systemic cover for the interruption"
)
WITHDRAWAL: dict[str, tuple[str, str]] = {
    "baclofen": (
        "withdrawal signs (high fever, altered mental status, rebound spasticity, muscle rigidity)",
        BACLOFEN_SOURCE,
    ),
    "clonidine": ("rebound hypertension and agitation", CLONIDINE_SOURCE),
    "opioid": ("opioid withdrawal and returning pain (plan systemic cover)", OPIOID_SOURCE),
}
"""What an interrupted infusion of a drug (or drug class) risks, with its source."""


class When(Enum):
    """When an instruction applies, relative to the scan."""

    BEFORE = "before"
    DURING = "during"
    AFTER = "after"


@dataclass(frozen=True)
class MriInstruction:
    """One thing to do or know, when, and the source it rests on (verified: a source confirms
    it; unverified: check the device labeling)."""

    when: When
    text: str
    source: str
    verified: bool = True

    @property
    def keys(self) -> tuple[str, ...]:
        """The source keys the instruction cites (docs/sources.md, docs/design-rules.md)."""
        found: list[str] = []
        for part in self.source.split("; "):
            for key in part.split(":", 1)[0].split(", "):
                if _KEY.fullmatch(key) and key not in found:
                    found.append(key)
        return tuple(found)


@dataclass(frozen=True)
class MriGuidance:
    """The MRI instructions for one pump: its catalog behaviour, a one-line summary and the
    instructions in the order they apply. `check_labeling` is True when the catalog knows no
    MRI behaviour of the pump."""

    model: str
    pump_name: str
    behaviour: str
    summary: str
    instructions: tuple[MriInstruction, ...]
    check_labeling: bool

    @property
    def sources(self) -> tuple[str, ...]:
        """The source keys cited, in order, each once."""
        keys: list[str] = []
        for instruction in self.instructions:
            keys += [k for k in instruction.keys if k not in keys]
        return tuple(keys)


def mri_guidance(pump: Pump, drugs: tuple[str, ...] = ()) -> MriGuidance:
    """The MRI instructions for `pump`; `drugs` (catalog names of what it holds) add the
    withdrawal watch for baclofen when the scan interrupts infusion."""
    if pump.mri == "motor_stall":
        summary = "the magnet stalls the pump motor: infusion stops for the scan and restarts late"
        steps = _motor_stall(pump)
    elif pump.mri == "valve_shutoff":
        summary = (
            "the reservoir is emptied before the scan; the flow-activated valve shuts off and "
            "stays closed until reset; refill afterwards"
        )
        steps = _valve_shutoff(pump)
    else:
        return MriGuidance(
            pump.model,
            pump.name,
            pump.mri,
            "no MRI behaviour of this pump in the catalog: check its MRI labeling",
            (_labeling(pump),),
            check_labeling=True,
        )
    interrupted = (
        "by the scan" if pump.mri == "motor_stall" else "from emptying the pump until its refill"
    )
    for name in drugs:
        drug = catalog.drug(name)
        risk = WITHDRAWAL.get(drug.name) or WITHDRAWAL.get(drug.drug_class)
        if risk is None:
            continue
        signs, source = risk
        steps.append(
            MriInstruction(
                When.AFTER,
                f"{drug.name}: infusion is interrupted {interrupted}; watch for {signs} until "
                "delivery is confirmed",
                source,
            )
        )
    return MriGuidance(pump.model, pump.name, pump.mri, summary, tuple(steps), check_labeling=False)


def _motor_stall(pump: Pump) -> list[MriInstruction]:
    delay = pump.extras.get("mri_resume_delay")
    planned = f" (painpump plans with {delay.describe()})" if delay is not None else ""
    return [
        MriInstruction(
            When.DURING,
            "the MRI field stalls the pump motor: infusion is suspended for the whole scan and "
            "the motor-stall (two-tone) alarm may sound",
            SYNCHROMED_SOURCE,
        ),
        MriInstruction(
            When.AFTER,
            "interrogate the pump after the MRI to check its status: proper infusion may take "
            f"2 to 24 hours to return{planned}",
            SYNCHROMED_SOURCE,
        ),
    ]


def _valve_shutoff(pump: Pump) -> list[MriInstruction]:
    volume = pump.reservoir_volume
    shutoff = pump.extras.get("mri_flow_on_shutoff")
    delivered = f" (at most {shutoff.describe()})" if shutoff is not None else ""
    return [
        MriInstruction(
            When.BEFORE,
            f"empty the reservoir before the MRI (up to {volume.describe()} of drug to remove)",
            PROMETRA_EMPTY_SOURCE,
        ),
        MriInstruction(
            When.DURING,
            f"the flow-activated valve shuts off flow in the MRI field{delivered}",
            PROMETRA_VALVE_SOURCE,
        ),
        MriInstruction(
            When.AFTER,
            "the valve stays closed after the scan: reset it by the manual procedure, then "
            "refill the pump before therapy resumes",
            f"{PROMETRA_VALVE_SOURCE}; {PROMETRA_EMPTY_SOURCE}",
        ),
    ]


def _labeling(pump: Pump) -> MriInstruction:
    if pump.kind == "constant_flow":
        what = "a constant-flow pump: the catalog records no MRI effect on it"
    elif pump.kind == "external":
        what = "an external pump: the catalog records no MRI instruction for it"
    else:
        what = f"the catalog records no MRI behaviour for it ({pump.mri!r})"
    return MriInstruction(
        When.BEFORE,
        f"{pump.name} is {what}; check the device's MRI labeling (MR Conditional or not, "
        "conditions, emptying) before any scan",
        LABELING_SOURCE,
        verified=False,
    )
