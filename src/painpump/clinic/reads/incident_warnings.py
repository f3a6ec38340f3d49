"""A readback incident open on a pump as a soft warning of its next refill or programming: the
pump may run the values read back rather than those prescribed, so the nurse sees what differed
before filling or programming it again, and passes it with a typed reason (recorded with the
refill or program and audited), the correction staying possible. Previews and services take it
from here alike."""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from painpump.clinic.locale import clinic_locale
from painpump.clinic.models import Implant, Incident
from painpump.clinic.reads.drug_units import incident_summary
from painpump.core.decision import Finding, Tier, Verdict
from painpump.core.refill_decision import ProgramDecision, RefillDecision

RULE = "readback_incident_open"
"""The warning's rule: a reason for it may be typed by whoever fills or programs the pump (it
acknowledges what they see; the incident itself is closed only by a physician)."""
LIMIT = "no readback incident open on the pump (a physician closes it with what was done)"
SOURCE = "rule-readback: a differing readback opens an incident until a physician closes it"

Decided = TypeVar("Decided", RefillDecision, ProgramDecision)


def open_incident_warnings(implant: Implant) -> tuple[Finding, ...]:
    """One warning for each readback incident open on the pump, the oldest first, naming when
    it was opened, by whom and what differed."""
    incidents = Incident.objects.filter(
        implant=implant, kind=Incident.Kind.READBACK_MISMATCH, closed_at__isnull=True
    ).select_related("readback__program__prescription")
    locale = clinic_locale()
    return tuple(
        Finding(
            RULE,
            Verdict.WARN,
            f"a readback incident is open on this pump, opened {locale.format_moment(i.opened_at)}"
            f" by {i.opened_by}: {incident_summary(i)}. The pump may run what was read back: "
            "check the programmer and correct it",
            LIMIT,
            SOURCE,
            verified=False,
            tier=Tier.SOFT,
        )
        for i in incidents.order_by("opened_at", "id")
    )


def with_open_incidents(decision: Decided, implant: Implant) -> Decided:
    """The decision with the pump's open readback incidents among its warnings."""
    found = open_incident_warnings(implant)
    return replace(decision, warnings=decision.warnings + found) if found else decision
