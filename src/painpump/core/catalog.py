"""The drug library and the pump and catheter catalog, read from the packaged TOML data files.

Every value keeps its source and whether a source confirms it; every limit keeps its tier, which
decides enforcement (rule-two-tiers)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from painpump.core.decision import Tier
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, parse

VERIFY_NOTE = "verify against the device labeling"
CATALOG = "painpump catalog (src/painpump/core/data)"


class CatalogError(Exception):
    """A packaged data file breaks the catalog's own rules (a bug in the data, not user input)."""


@dataclass(frozen=True)
class Sourced:
    """A catalog quantity with its source and whether the fact sheets confirm it."""

    value: Q
    source: str
    verified: bool

    def describe(self) -> str:
        note = "" if self.verified else f" (unverified: {VERIFY_NOTE})"
        return f"{self.value}{note}"


@dataclass(frozen=True)
class SourcedNumber:
    """A plain catalog number (a percentage, a count) with its source and verification."""

    value: Decimal
    source: str
    verified: bool


@dataclass(frozen=True)
class Limit:
    """One drug-library rule: a limit value, its tier (hard stops, soft warns), and where it
    applies. `caution`: its source words the value as a caution above it, not a maximum."""

    drug: str
    rule: str
    value: Q | Decimal
    severity: Tier
    verified: bool
    source: str
    when: dict[str, str] = field(default_factory=dict)
    caution: bool = False

    def applies(self, **context: str | None) -> bool:
        """True when the limit's conditions match the context; an unknown condition (None)
        matches every variant, so that the strictest applies when origin or region is not given."""
        return all(context.get(key) in (None, wanted) for key, wanted in self.when.items())

    def text(self) -> str:
        if isinstance(self.value, Q):
            return str(self.value)
        unit = _PLAIN_UNITS.get(self.rule, "")
        return f"{self.value}{unit}"


@dataclass(frozen=True)
class UsualRange:
    """The range a drug's daily dose or concentration usually lies in, per its sources: a value
    outside it that fits it with the other prefix (mg <-> mcg) is a unit slip (rule-unit-slip)."""

    of: str
    low: Q
    high: Q
    verified: bool
    source: str

    def holds(self, q: Q) -> bool:
        return self.low.canonical <= q.canonical <= self.high.canonical

    def text(self) -> str:
        return f"{self.low} to {self.high}"


@dataclass(frozen=True)
class Contraindication:
    """A patient fact (PatientFacts field, True when present) that rules the drug out."""

    fact: str
    severity: Tier
    verified: bool
    source: str


@dataclass(frozen=True)
class Stability:
    """A refill-interval rule from the drug's stability data, in whole days."""

    rule: str
    days: int
    verified: bool
    source: str


@dataclass(frozen=True)
class Conversion:
    """An equianalgesic ratio between two routes: dose_from = ratio x dose_to; `towards` (a route)
    keeps it to conversions towards that route, each direction with its own ratio and source."""

    from_route: str
    to_route: str
    ratio: Decimal
    verified: bool
    source: str
    towards: str | None = None


@dataclass(frozen=True)
class Drug:
    name: str
    drug_class: str
    dose_unit: str
    status: str
    status_source: str
    products: tuple[Q, ...]
    products_source: str
    limits: tuple[Limit, ...]
    stability: tuple[Stability, ...]
    conversions: tuple[Conversion, ...]
    usual: tuple[UsualRange, ...] = ()
    contraindications: tuple[Contraindication, ...] = ()
    restart_as_start_after: Sourced | None = None
    """A stop longer than this, and a restart of the drug is judged against its start dose too
    (tolerance may be lost); None: no such rule."""

    @property
    def concentration_unit(self) -> str:
        return f"{self.dose_unit}/mL"

    @property
    def dose_rate_unit(self) -> str:
        return f"{self.dose_unit}/day"

    def unit_for(self, kind: Kind) -> str:
        """The drug's own unit for an amount, a daily dose or a concentration of it (mg, mg/day,
        mg/mL for morphine), the unit its orders, labels and messages use."""
        units = {
            Kind.MASS: self.dose_unit,
            Kind.DOSE_RATE: self.dose_rate_unit,
            Kind.CONCENTRATION: self.concentration_unit,
        }
        if kind not in units:
            raise ValueError(f"{self.name} has no unit for a {kind.label}")
        return units[kind]

    def limits_for(self, rule: str, **context: str | None) -> list[Limit]:
        return [lim for lim in self.limits if lim.rule == rule and lim.applies(**context)]

    def usual_range(self, of: str) -> UsualRange | None:
        return next((u for u in self.usual if u.of == of), None)

    def stability_rule(self, rule: str) -> Stability | None:
        return next((s for s in self.stability if s.rule == rule), None)


@dataclass(frozen=True)
class Admixture:
    name: str
    drugs: frozenset[str]
    stability: tuple[Stability, ...]


@dataclass(frozen=True)
class Pump:
    model: str
    name: str
    kind: str
    mri: str
    approved_for: tuple[str, ...]
    approved_for_source: str
    reservoir_volume: Sourced
    low_reservoir_alarm: Sourced
    min_rate: Sourced
    max_rate: Sourced
    accuracy_percent: SourcedNumber
    flex_steps_per_day: SourcedNumber
    fixed_rate: bool
    announces_alarms: bool
    extras: dict[str, Sourced]
    service_life_years: SourcedNumber | None = None
    replace_months_before_end: SourcedNumber | None = None
    # The under-infusion side of the accuracy, when its verification differs from the over side.
    accuracy_under_percent: SourcedNumber | None = None


@dataclass(frozen=True)
class Catheter:
    model: str
    name: str
    full_length: Sourced
    volume_per_cm: Decimal
    volume_per_cm_source: str
    volume_per_cm_verified: bool


@dataclass(frozen=True)
class DeadVolumeRules:
    """How an implant's entered dead volume is judged against its catheter (core.dead_volume):
    the tolerance around the catalog's catheter volume and the plausible range for any."""

    tolerance_percent: SourcedNumber
    plausible_min: Sourced
    plausible_max: Sourced


@dataclass(frozen=True)
class ClinicCatheterRules:
    """The range a clinic's own catheter entry's volume per cm must lie in (mL/cm): a
    plausibility guard against unit and typing slips (core.clinic_catheters)."""

    volume_per_cm_min: SourcedNumber
    volume_per_cm_max: SourcedNumber


def _read(name: str) -> dict[str, Any]:
    text = resources.files("painpump.core").joinpath("data", name).read_text(encoding="utf-8")
    return tomllib.loads(text)


def _sourced(entry: dict[str, Any], kind: Kind, where: str) -> Sourced:
    try:
        return Sourced(parse(entry["value"], kind, where), entry["source"], bool(entry["verified"]))
    except (KeyError, Refusal) as exc:
        raise CatalogError(f"{where}: {exc}") from exc


def _number(entry: dict[str, Any]) -> SourcedNumber:
    return SourcedNumber(Decimal(entry["value"]), entry["source"], bool(entry["verified"]))


_LIMIT_KINDS = {
    "max_concentration": Kind.CONCENTRATION,
    "min_concentration": Kind.CONCENTRATION,
    "max_daily_dose": Kind.DOSE_RATE,
    "max_step_absolute": Kind.DOSE_RATE,
    "max_start_dose": Kind.DOSE_RATE,
    "max_single_bolus": Kind.MASS,
}
_PLAIN_UNITS = {
    "max_step_percent": " %",
    "max_decrease_percent": " %",
    "min_hours_between_increases": " hour",
    "max_increases_per_week": "",
    "min_age_years": " years",
}
_CAUTIONS = {"max_daily_dose", "max_concentration"}
"""The maxima a source may word as a caution above the value (`caution = true`)."""
_USUAL_KINDS = {"daily_dose": Kind.DOSE_RATE, "concentration": Kind.CONCENTRATION}
_FACTS = {"psychosis_history"}
WHEN_KEYS = {
    "origin": ("spinal", "cerebral"),
    "region": ("us", "eu"),
    "phase": ("titration", "maintenance"),
    "opioid_status": ("naive", "tolerant"),
}
RULE_LABELS = {
    "max_concentration": "maximum concentration",
    "min_concentration": "minimum concentration",
    "max_daily_dose": "maximum daily dose",
    "max_step_percent": "largest titration step (percent)",
    "max_step_absolute": "largest titration step (amount)",
    "min_hours_between_increases": "shortest time between dose increases",
    "max_increases_per_week": "most dose increases in 7 days",
    "max_start_dose": "largest first daily dose",
    "max_decrease_percent": "largest single decrease (percent)",
    "min_age_years": "youngest age covered by the label",
    "max_single_bolus": "largest single bolus",
}
"""A reader's name for every drug-library rule (the data file's comment explains each)."""


def _limit(drug: str, entry: dict[str, Any]) -> Limit:
    rule = entry["rule"]
    where = f"drugs.toml {drug} {rule}"
    value: Q | Decimal
    if rule in _LIMIT_KINDS:
        value = parse(entry["value"], _LIMIT_KINDS[rule], where)
    elif rule in _PLAIN_UNITS:
        value = Decimal(entry["value"])
    else:
        raise CatalogError(f"{where}: unknown rule")
    when = dict(entry.get("when", {}))
    for key, wanted in when.items():
        if wanted not in WHEN_KEYS.get(key, ()):
            raise CatalogError(f"{where}: unknown condition {key} = {wanted}")
    if not entry.get("source"):
        raise CatalogError(f"{where}: no source")
    caution = entry.get("caution", False)
    if not isinstance(caution, bool) or (caution and rule not in _CAUTIONS):
        raise CatalogError(f"{where}: caution = true only on {', '.join(sorted(_CAUTIONS))}")
    return Limit(
        drug,
        rule,
        value,
        _tier(entry, where),
        bool(entry["verified"]),
        entry["source"],
        when,
        caution,
    )


def _tier(entry: dict[str, Any], where: str) -> Tier:
    try:
        return Tier(entry["severity"])
    except (KeyError, ValueError) as exc:
        raise CatalogError(f"{where}: severity must be hard or soft") from exc


def _usual(drug: str, entry: dict[str, Any]) -> UsualRange:
    where = f"drugs.toml {drug} usual {entry.get('of')}"
    kind = _USUAL_KINDS.get(entry.get("of", ""))
    if kind is None or not entry.get("source"):
        raise CatalogError(f"{where}: needs of = daily_dose or concentration and a source")
    low, high = parse(entry["low"], kind, where), parse(entry["high"], kind, where)
    if not 0 < low.canonical < high.canonical:
        raise CatalogError(f"{where}: needs 0 < low < high")
    return UsualRange(entry["of"], low, high, bool(entry["verified"]), entry["source"])


def _contraindication(drug: str, entry: dict[str, Any]) -> Contraindication:
    where = f"drugs.toml {drug} contraindication {entry.get('fact')}"
    if entry.get("fact") not in _FACTS or not entry.get("source"):
        raise CatalogError(f"{where}: needs a known fact ({', '.join(_FACTS)}) and a source")
    return Contraindication(
        entry["fact"], _tier(entry, where), bool(entry["verified"]), entry["source"]
    )


def _stability(entries: list[dict[str, Any]]) -> tuple[Stability, ...]:
    return tuple(
        Stability(e["rule"], int(e["days"]), bool(e["verified"]), e["source"]) for e in entries
    )


@cache
def drugs() -> dict[str, Drug]:
    out: dict[str, Drug] = {}
    for d in _read("drugs.toml")["drug"]:
        name = d["name"]
        out[name] = Drug(
            name=name,
            drug_class=d["class"],
            dose_unit=d["dose_unit"],
            status=d["status"],
            status_source=d["status_source"],
            products=tuple(parse(p, Kind.CONCENTRATION, f"{name} product") for p in d["products"]),
            products_source=d["products_source"],
            limits=tuple(_limit(name, e) for e in d["limit"]),
            stability=_stability(d["stability"]),
            usual=tuple(_usual(name, e) for e in d.get("usual", ())),
            contraindications=tuple(
                _contraindication(name, e) for e in d.get("contraindication", ())
            ),
            restart_as_start_after=(
                _sourced(d["restart_as_start_after"], Kind.DURATION, f"{name} restart")
                if "restart_as_start_after" in d
                else None
            ),
            conversions=tuple(
                Conversion(
                    c["from"],
                    c["to"],
                    Decimal(c["ratio"]),
                    bool(c["verified"]),
                    c["source"],
                    c.get("towards"),
                )
                for c in d["conversion"]
            ),
        )
    return out


@cache
def held_in_stopped_pump() -> Stability:
    """The refill interval of a fluid a stopped pump holds when its drugs have no stability
    rule: a stopped pump never alarms, so nothing else dates it."""
    return _stability([_read("drugs.toml")["held_in_stopped_pump"]])[0]


@cache
def admixtures() -> tuple[Admixture, ...]:
    return tuple(
        Admixture(a["name"], frozenset(a["drugs"]), _stability(a["stability"]))
        for a in _read("drugs.toml")["admixture"]
    )


@cache
def pumps() -> dict[str, Pump]:
    out: dict[str, Pump] = {}
    for p in _read("pumps.toml")["pump"]:
        model = p["model"]
        extras = {
            key: _sourced(p[key], kind, f"pumps.toml {model} {key}")
            for key, kind in (
                ("eri_to_stop", Kind.DURATION),
                ("mri_resume_delay", Kind.DURATION),
                ("stop_overinfusion_after", Kind.DURATION),
                ("pocket_fill_threshold", Kind.VOLUME),
                ("mri_flow_on_shutoff", Kind.VOLUME),
            )
            if key in p
        }
        out[model] = Pump(
            model=model,
            name=p["name"],
            kind=p["kind"],
            mri=p["mri"],
            approved_for=tuple(p["approved_for"]),
            approved_for_source=p["approved_for_source"],
            reservoir_volume=_sourced(p["reservoir_volume"], Kind.VOLUME, f"{model} reservoir"),
            low_reservoir_alarm=_sourced(p["low_reservoir_alarm"], Kind.VOLUME, f"{model} alarm"),
            min_rate=_sourced(p["min_rate"], Kind.VOLUME_RATE, f"{model} min_rate"),
            max_rate=_sourced(p["max_rate"], Kind.VOLUME_RATE, f"{model} max_rate"),
            accuracy_percent=_number(p["accuracy_percent"]),
            flex_steps_per_day=_number(p["flex_steps_per_day"]),
            fixed_rate=bool(p.get("fixed_rate", False)),
            announces_alarms=bool(p.get("announces_alarms", True)),
            service_life_years=(
                _number(p["service_life_years"]) if "service_life_years" in p else None
            ),
            replace_months_before_end=(
                _number(p["replace_months_before_end"])
                if "replace_months_before_end" in p
                else None
            ),
            extras=extras,
            accuracy_under_percent=(
                _number(p["accuracy_under_percent"]) if "accuracy_under_percent" in p else None
            ),
        )
    return out


@cache
def catheters() -> dict[str, Catheter]:
    out: dict[str, Catheter] = {}
    for c in _read("catheters.toml")["catheter"]:
        per_cm = c["volume_per_cm"]
        number, unit = per_cm["value"].split()
        if unit != "mL/cm":
            raise CatalogError(f"catheters.toml {c['model']}: volume_per_cm must be in mL/cm")
        out[c["model"]] = Catheter(
            model=c["model"],
            name=c["name"],
            full_length=_sourced(c["full_length"], Kind.LENGTH, f"{c['model']} full_length"),
            volume_per_cm=Decimal(number),
            volume_per_cm_source=per_cm["source"],
            volume_per_cm_verified=bool(per_cm["verified"]),
        )
    return out


@cache
def dead_volume_rules() -> DeadVolumeRules:
    entry = _read("catheters.toml")["dead_volume"]
    rules = DeadVolumeRules(
        tolerance_percent=_number(entry["tolerance_percent"]),
        plausible_min=_sourced(entry["plausible_min"], Kind.VOLUME, "dead_volume plausible_min"),
        plausible_max=_sourced(entry["plausible_max"], Kind.VOLUME, "dead_volume plausible_max"),
    )
    if not 0 <= rules.tolerance_percent.value < 100:
        raise CatalogError("catheters.toml dead_volume: tolerance_percent must be 0 to < 100")
    if not 0 < rules.plausible_min.value.canonical < rules.plausible_max.value.canonical:
        raise CatalogError("catheters.toml dead_volume: needs 0 < plausible_min < plausible_max")
    return rules


def _per_cm(entry: dict[str, Any], where: str) -> SourcedNumber:
    number, unit = entry["value"].split()
    if unit != "mL/cm":
        raise CatalogError(f"catheters.toml {where}: must be in mL/cm")
    return SourcedNumber(Decimal(number), entry["source"], bool(entry["verified"]))


@cache
def clinic_catheter_rules() -> ClinicCatheterRules:
    entry = _read("catheters.toml")["clinic_catheter"]
    rules = ClinicCatheterRules(
        volume_per_cm_min=_per_cm(entry["volume_per_cm_min"], "clinic_catheter volume_per_cm_min"),
        volume_per_cm_max=_per_cm(entry["volume_per_cm_max"], "clinic_catheter volume_per_cm_max"),
    )
    if not 0 < rules.volume_per_cm_min.value < rules.volume_per_cm_max.value:
        raise CatalogError("catheters.toml clinic_catheter: needs 0 < volume_per_cm_min < max")
    return rules


def _lookup(table: dict[str, Any], name: str, field_name: str, what: str) -> Any:
    if name in table:
        return table[name]
    raise Refusal(
        field_name,
        repr(name),
        f"one of {', '.join(sorted(table))}",
        CATALOG,
        f"is not a known {what}",
    )


def drug(name: str, field_name: str = "drug") -> Drug:
    return _lookup(drugs(), str(name).strip().lower(), field_name, "drug")  # type: ignore[no-any-return]


def pump(model: str, field_name: str = "pump") -> Pump:
    return _lookup(pumps(), str(model).strip().lower(), field_name, "pump model")  # type: ignore[no-any-return]


def catheter(model: str, field_name: str = "catheter") -> Catheter:
    return _lookup(catheters(), str(model).strip().lower(), field_name, "catheter model")  # type: ignore[no-any-return]


def admixture_for(names: frozenset[str]) -> Admixture | None:
    return next((a for a in admixtures() if a.drugs == names), None)
