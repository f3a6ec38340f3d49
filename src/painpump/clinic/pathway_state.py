"""The pathway state of an episode as stored in the database (JSON) and back as the core's
immutable Episode: dates in ISO 8601, enums by value, quantities with their unit."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from painpump.clinic import models
from painpump.core.baclofen import ScreeningBolus
from painpump.core.pathway.episode import Acknowledgement, Episode, PathwaySettings
from painpump.core.pathway.indications import Indication, Outcome, Protocol, Severity
from painpump.core.pathway.stages import Action, Stage
from painpump.core.pathway.transitions import refer
from painpump.core.units import Q


def plain(value: Any) -> Any:
    """A JSON-ready copy of a pathway value (dates ISO, enums by value, quantities with unit)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Stage | Indication | Protocol | Outcome | Action | Severity):
        return value.value
    if isinstance(value, Q):
        return {"value": str(value.value), "unit": value.unit}
    if isinstance(value, Decimal):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def dump_state(episode: Episode) -> dict[str, Any]:
    return plain(asdict(episode))  # type: ignore[no-any-return]


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def load_state(data: dict[str, Any]) -> Episode:
    """The stored state back as the core's Episode (the inverse of dump_state)."""
    return Episode(
        indication=Indication(data["indication"]),
        referred_on=date.fromisoformat(data["referred_on"]),
        stage=Stage(data["stage"]),
        stage_since=_day(data["stage_since"]),
        injury_date=_day(data["injury_date"]),
        protocol=Protocol(data["protocol"]) if data["protocol"] else None,
        small_patient=data["small_patient"],
        test_rehabilitation=data["test_rehabilitation"],
        test_severity=Severity(data["test_severity"]) if data.get("test_severity") else None,
        test_planned_days=data.get("test_planned_days"),
        test_started_on=_day(data["test_started_on"]),
        test_ended_on=_day(data["test_ended_on"]),
        screening=tuple(
            ScreeningBolus(
                dose=Q(Decimal(b["dose"]["value"]), b["dose"]["unit"]),
                positive=b["positive"],
                given_at=datetime.fromisoformat(b["given_at"]) if b["given_at"] else None,
            )
            for b in data["screening"]
        ),
        outcome=Outcome(data["outcome"]) if data["outcome"] else None,
        catheter_removed_on=_day(data["catheter_removed_on"]),
        implanted_on=_day(data["implanted_on"]),
        discharged_on=_day(data["discharged_on"]),
        explanted_on=_day(data["explanted_on"]),
        closed_on=_day(data["closed_on"]),
        close_reason=data["close_reason"],
        acknowledgements=tuple(
            Acknowledgement(a["rule"], Action(a["action"]), a["note"], date.fromisoformat(a["on"]))
            for a in data["acknowledgements"]
        ),
    )


def pathway_settings(settings: models.ClinicSettings) -> PathwaySettings:
    """The core's pathway settings from the clinic's: the test phase's planned lengths per
    severity stay unverified (rule-clinic-setting: no source gives them)."""
    return PathwaySettings(
        min_days_test_to_implant=settings.implant_wait_days,
        stay_min_days=settings.stay_min_days,
        stay_max_days=settings.stay_max_days,
        test_phase_days={
            Severity.MODERATE: settings.test_phase_days_moderate,
            Severity.SEVERE: settings.test_phase_days_severe,
            Severity.VERY_SEVERE: settings.test_phase_days_very_severe,
        },
        test_phase_days_verified=False,
    )


def state_of(row: models.Episode) -> Episode:
    """The core episode a stored one is in (a row saved before its state was kept: as referred)."""
    if row.pathway_state:
        return load_state(row.pathway_state)
    return refer(row.indication, on=row.referred_on, injury_date=row.injury_date)
