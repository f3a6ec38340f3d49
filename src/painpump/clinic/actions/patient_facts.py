"""The patient facts the drug labels' dosing depends on (weight, opioid exposure, a history of
psychosis, life expectancy) checked before they are stored, and the origin of spasticity of an
episode overridden with a reason. Bounds are plausibility limits: they refuse typing slips (kg for
g, months for years), not unusual patients."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F

from painpump.clinic import audit
from painpump.clinic.errors import Conflict, get_or_not_found
from painpump.clinic.models import Episode, Patient
from painpump.clinic.roles import require
from painpump.core.errors import Refusal
from painpump.core.overrides import checked_reason
from painpump.core.pathway.indications import Indication
from painpump.core.patient_facts import OpioidStatus
from painpump.core.spasticity import Origin, origin_for, origin_of
from painpump.core.units import format_decimal

INPUT_RULES = "painpump input rules"
WEIGHT_KG = (Decimal("0.5"), Decimal(400))
LIFE_EXPECTANCY_MONTHS = (0, 600)
FACTS = ("weight_kg", "opioid_status", "psychosis_history", "life_expectancy_months")
"""The patient's fields this module checks (and the names their inputs carry)."""


PRESCRIBING_FACTS = frozenset({"opioid_status", "psychosis_history"})
"""Facts that change what the dose checks allow (a start dose, a contraindication): once
recorded, only a prescriber changes them."""


def weight_kg(value: object) -> Decimal | None:
    """A body weight in kg (None: not recorded), to at most 2 decimal places."""
    if value is None or value == "":
        return None
    low, high = WEIGHT_KG
    limit = f"{format_decimal(low)} to {format_decimal(high)} kg, at most 2 decimal places"
    if isinstance(value, bool | float):
        raise Refusal("weight_kg", f"{value!r} kg", limit, INPUT_RULES, "is not a decimal number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise Refusal("weight_kg", f"{value!r} kg", limit, INPUT_RULES, "is not a number") from None
    if not number.is_finite() or not low <= number <= high:
        raise Refusal(
            "weight_kg", f"{value} kg", limit, INPUT_RULES, "is not a plausible body weight"
        )
    if number != number.quantize(Decimal("0.01")):
        raise Refusal("weight_kg", f"{value} kg", limit, INPUT_RULES, "is more precise than 10 g")
    return number


def opioid_status(value: object) -> OpioidStatus:
    """The patient's opioid exposure before intrathecal therapy (unknown when not recorded)."""
    if value is None or value == "":
        return OpioidStatus.UNKNOWN
    try:
        return OpioidStatus(str(value))
    except ValueError:
        raise Refusal(
            "opioid_status",
            repr(value),
            f"one of {', '.join(s.value for s in OpioidStatus)}",
            INPUT_RULES,
            "is not an opioid status",
        ) from None


def psychosis_history(value: object) -> bool | None:
    """A history of psychosis: yes, no, or None (not recorded)."""
    if value is None or isinstance(value, bool):
        return value
    raise Refusal(
        "psychosis_history",
        repr(value),
        "true, false or null (not recorded)",
        INPUT_RULES,
        "is not yes, no or not recorded",
    )


def life_expectancy_months(value: object) -> int | None:
    """The expected months of life (None: not recorded); what tumour pain dosing may weigh."""
    if value is None or value == "":
        return None
    low, high = LIFE_EXPECTANCY_MONTHS
    limit = f"a whole number of months from {low} to {high}"
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise Refusal(
            "life_expectancy_months", f"{value!r} months", limit, INPUT_RULES, "is not a number"
        )
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise Refusal(
            "life_expectancy_months", f"{value!r} months", limit, INPUT_RULES, "is not a number"
        ) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise Refusal(
            "life_expectancy_months",
            f"{value} months",
            limit,
            INPUT_RULES,
            "is not a whole number of months",
        )
    if not low <= number <= high:
        raise Refusal(
            "life_expectancy_months",
            f"{value} months",
            limit,
            INPUT_RULES,
            "is not a plausible life expectancy",
        )
    return int(number)


def checked_facts(changes: dict[str, Any]) -> dict[str, Any]:
    """The facts among `changes` (a subset of FACTS), each checked: the values to store."""
    checks = {
        "weight_kg": weight_kg,
        "opioid_status": opioid_status,
        "psychosis_history": psychosis_history,
        "life_expectancy_months": life_expectancy_months,
    }
    return {name: checks[name](value) for name, value in changes.items() if name in checks}


def facts_snapshot(patient: Patient) -> dict[str, Any]:
    """The facts as the audit trail records them: quantities with their units."""
    weight = patient.weight_kg
    months = patient.life_expectancy_months
    return {
        "weight": None if weight is None else f"{format_decimal(Decimal(weight))} kg",
        "opioid_status": patient.opioid_status,
        "psychosis_history": patient.psychosis_history,
        "life_expectancy": None if months is None else f"{months} months",
    }


def _origin_snapshot(episode: Episode) -> dict[str, Any]:
    override = Origin(episode.origin_override) if episode.origin_override else None
    choice = origin_for(Indication(episode.indication), override, episode.origin_override_reason)
    return {
        "origin_override": episode.origin_override or None,
        "origin_override_reason": episode.origin_override_reason,
        "origin": choice.origin.value if choice.origin else None,
        "version": episode.version,
    }


@transaction.atomic
def set_origin_override(
    user: User, episode_id: UUID, *, expected_version: int, origin: str, reason: str = ""
) -> Episode:
    """Set (origin spinal or cerebral, with a reason of at least 8 characters) or clear (origin
    "") the origin of spasticity the dosing checks use instead of the indication's; physicians
    only, on a spasticity episode nobody changed since `expected_version`."""
    actor = require(user, "episode.write")
    episode = get_or_not_found(Episode.objects.select_for_update(), episode_id)
    if episode.version != expected_version:
        raise Conflict("episode", str(episode.id), expected_version, episode.version)
    reason = (reason or "").strip()
    chosen = ""
    if origin:
        try:
            chosen = Origin(origin).value
        except ValueError:
            raise Refusal(
                "origin",
                repr(origin),
                f"one of {', '.join(o.value for o in Origin)}, or empty to clear",
                INPUT_RULES,
                "is not an origin of spasticity",
            ) from None
        if origin_of(Indication(episode.indication)) is None:
            raise Refusal(
                "origin",
                origin,
                "an episode for spasticity",
                INPUT_RULES,
                f"does not apply to {episode.get_indication_display()}",
            )
        reason = checked_reason("reason", reason)
        if len(reason) > 300:
            raise Refusal("reason", f"{len(reason)} characters", "300 characters", INPUT_RULES)
    before = _origin_snapshot(episode)
    updated = Episode.objects.filter(id=episode.id, version=expected_version).update(
        origin_override=chosen,
        origin_override_reason=reason if chosen else "",
        version=F("version") + 1,
    )
    if updated != 1:
        raise Conflict("episode", str(episode.id), expected_version, episode.version + 1)
    episode.refresh_from_db()
    after = _origin_snapshot(episode)
    if not chosen and reason:
        after["clearing_reason"] = reason
    audit.record(
        actor,
        "episode.origin_override" if chosen else "episode.origin_override_clear",
        "episode",
        episode.id,
        patient_id=episode.patient_id,
        before=before,
        after=after,
    )
    return episode
