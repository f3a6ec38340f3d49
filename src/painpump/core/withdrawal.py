"""Drugs whose abrupt stop risks withdrawal, and what stopping a pump (the device's "stopped
pump" mode) warns of: each such drug stops, and a pump that risks overinfusion after a long stop
says so. All soft: a stop is the physician's decision, taken with a reason."""

from __future__ import annotations

from painpump.core import catalog, checks
from painpump.core.catalog import Sourced
from painpump.core.decision import Finding, Subject, Tier, Verdict
from painpump.core.prescription import Prescription, duration_words

STOPPING_RISK = {
    "baclofen": checks.DECREASE_SOURCES["baclofen"],
    "clonidine": (
        "duraclon-label: Duraclon (epidural clonidine) label: risk of rebound hypertension; not "
        "to be discontinued except under a physician's supervision"
    ),
    "opioid": (
        "rule-conservative-default: an opioid stopped abruptly risks withdrawal (a taper, or "
        "another opioid in its place, and watching for withdrawal)"
    ),
}

PUMP_STOPPED = "pump_stopped"
STOP_OVERINFUSION = "stopped_pump_overinfusion"
STOP_LIMIT = "stop_overinfusion_after"


def stop_warning(name: str, rule: str, message: str, limit: str) -> Finding | None:
    """A soft warning that `name` stops, when its abrupt stop risks withdrawal (STOPPING_RISK:
    baclofen, clonidine, an opioid); None for a drug whose stop is not known to."""
    drug = catalog.drug(name)
    source = STOPPING_RISK.get(name) or STOPPING_RISK.get(drug.drug_class)
    if source is None:
        return None
    return Finding(
        rule,
        Verdict.WARN,
        message,
        limit,
        source,
        verified=drug.drug_class != "opioid",
        subject=Subject.DOSE,
        drug=name,
        tier=Tier.SOFT,
    )


def stops_after_bolus(prescription: Prescription) -> list[Finding]:
    """After a single bolus the pump stops: each drug whose abrupt stop risks withdrawal warns
    (a reason: the taper it ends, or why the stop is safe)."""
    found = (
        stop_warning(
            name,
            "stops_after_single_bolus",
            f"the pump stops after the single bolus: {name} then stops abruptly, which risks "
            "withdrawal; give the reason and watch for withdrawal",
            "a running program after the bolus, or a reason",
        )
        for name, _ in prescription.drugs
    )
    return [finding for finding in found if finding is not None]


def overinfusion_limit_passed(pump: catalog.Pump, stopped_s: int) -> Sourced | None:
    """The pump's labelled limit on a stop (a risk factor for overinfusion once it runs
    again), when a stop of `stopped_s` seconds is longer; None otherwise or with no such limit."""
    stall = pump.extras.get(STOP_LIMIT)
    return stall if stall is not None and stopped_s > stall.value.canonical else None


def stopped_words(seconds: int) -> str:
    """How long a pump has been stopped: "3 days", "26 h", "40 min"."""
    if seconds >= 2 * 86_400:
        return f"{seconds // 86_400} days"
    if seconds >= 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds >= 60 else "less than a minute"


def stopped_pump_findings(
    pump: catalog.Pump, prescription: Prescription, stopped_already: bool = False
) -> list[Finding]:
    """A pump programmed stopped: each drug whose abrupt stop risks withdrawal (the taper it
    ends, or why the stop is safe; none on a pump stopped already, where nothing stops now),
    and, for a pump whose labeling names it, the overinfusion a stop longer than its limit
    risks once the pump runs again."""
    found = [
        stop_warning(
            name,
            PUMP_STOPPED,
            f"the pump is stopped: {name} stops abruptly, which risks withdrawal; give the taper "
            "it ends or the reason, and watch for withdrawal",
            "a taper before the stop, or a reason",
        )
        for name, _ in prescription.drugs
        if not stopped_already
    ]
    stall = pump.extras.get(STOP_LIMIT)
    if stall is not None:
        hours = duration_words(int(stall.value.canonical))
        found.append(
            Finding(
                STOP_OVERINFUSION,
                Verdict.WARN,
                f"a {pump.name} stopped for more than {hours} risks overinfusion once it runs "
                "again (a stop or motor stall that long is a known risk factor); a stop for an "
                "MRI scan is not recommended, as it can delay the detection of a motor stall",
                f"a stop of at most {hours}, or a reason",
                stall.source,
                verified=stall.verified,
                subject=Subject.DELIVERY,
                tier=Tier.SOFT,
            )
        )
    return [finding for finding in found if finding is not None]
