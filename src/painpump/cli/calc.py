"""`painpump calc ...`: the calculators and drug-library checks of the core layer on the command
line. Every quantity is typed with its unit ("5 mg/day"); bad input raises a Refusal that
`painpump.cli.main.run` renders with exit status 2. Core (and the parsing here) names a refused
input by its parameter in snake_case ("margin_days"); each command renames it to the option the
user typed ("--margin-days", see FLAGS) before it leaves.

Dates: `calc refill --fill-date` takes an ISO 8601 date (2026-12-01: the first moment of that
day) or a date and time with its UTC offset (2026-12-01T09:30+01:00, or ...Z); a date and time
without an offset could be any of 26 hours and is refused. The days of the refill rules (the
margin before the alarm, a drug's stability limit such as ziconotide's 14-day first fill) are
calendar days of one zone: `--time-zone` (an IANA name such as Europe/Berlin, so a day across a
daylight-saving change is 23 or 25 hours), else the fixed offset typed with the fill date, else
UTC. refill_by is a day of that calendar (never later than the limit that set it); fill_date,
alarm_date and empty_date are printed on that zone's clock with their offset (floored to the
second), and time_zone names the zone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timezone, tzinfo
from decimal import Decimal
from enum import StrEnum
from functools import cache, wraps
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer
import typer.core
import typer.main

from painpump import clock
from painpump.cli.output import decision_text, emit, table, to_json
from painpump.core import baclofen, catalog, checks, dosing, opioids, refill, volumes
from painpump.core.catalog import VERIFY_NOTE
from painpump.core.decision import Finding, Verdict
from painpump.core.device_limits import check_rate
from painpump.core.dose_history import Phase
from painpump.core.errors import Refusal
from painpump.core.locale import zone as named_zone
from painpump.core.mri import mri_guidance
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.units import INPUT_RULES, Kind, Q, of, parse, parse_decimal, round_places

app = typer.Typer(
    help="Calculators (rate, dose, refill, discrepancy, volumes, conversion) and drug-library "
    "checks. Quantities are typed with their units, e.g. --dose '5 mg/day'.",
    no_args_is_help=True,
    add_completion=False,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

# A refused input's option where it is not "--" + the field's name with dashes.
FLAGS = {"fill_at": "--fill-date", "from_route": "--from", "to_route": "--to"}


@cache
def _options() -> frozenset[str]:
    """The option names of every calc command."""
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return frozenset(
        name
        for command in group.commands.values()
        for param in command.params
        for name in param.opts
    )


def flag(field: str) -> str:
    """The option the user typed for a field named in snake_case ("margin_days" ->
    "--margin-days", "fill_at" -> "--fill-date"); a field no option carries stays as it is."""
    if field in FLAGS:
        return FLAGS[field]
    option = "--" + field.replace("_", "-")
    return option if option in _options() else field


Command = TypeVar("Command", bound=Callable[..., None])


def _command(name: str) -> Callable[[Command], Command]:
    """Register a calc command whose refusals name the option the user typed."""

    def register(function: Command) -> Command:
        @wraps(function)
        def run(*args: Any, **kwargs: Any) -> None:
            try:
                function(*args, **kwargs)
            except Refusal as error:
                shown = flag(error.field)
                if shown == error.field:
                    raise
                raise replace(error, field=shown) from None

        app.command(name)(run)
        return function

    return register


def _opt(name: str, help_text: str) -> Any:
    """A string option (parsed and checked by painpump, not by the CLI library)."""
    return typer.Option(name, help=help_text)


Concentration = Annotated[str | None, _opt("--concentration", "Concentration.")]
CatheterModel = Annotated[str | None, _opt("--catheter", "Catheter model.")]


def _missing(field: str, expected: str, source: str = INPUT_RULES) -> Refusal:
    """The refusal of a required option left out."""
    return Refusal(field, "not given", expected, source, "is required")


def _need(text: str | None, field: str, kind: Kind, *, positive: bool = False) -> Q:
    """Parse a required quantity option, refusing it when missing."""
    if text is None:
        raise _missing(field, f"a {kind.label} with its unit, e.g. {kind.examples}")
    return parse(text, kind, field, positive=positive)


def _maybe(text: str | None, field: str, kind: Kind, *, positive: bool = False) -> Q | None:
    """Parse an optional quantity option."""
    return None if text is None else parse(text, kind, field, positive=positive)


def _either(text: str | None, field: str, kinds: tuple[Kind, ...], example: str) -> Q:
    """Parse a quantity that may be of one of several kinds (e.g. mg or mg/day)."""
    if text is None:
        raise _missing(field, example)
    for kind in kinds:
        try:
            return parse(text, kind, field)
        except Refusal as error:
            if error.problem in ("is negative", "uses a decimal comma", "has no unit"):
                raise Refusal(field, error.value, example, INPUT_RULES, error.problem) from None
    raise Refusal(field, repr(text), example, INPUT_RULES, "is not a quantity of a fitting kind")


def _number(
    text: str | None, field: str, *, integer: bool = False, minimum: Decimal = Decimal(0)
) -> Decimal | None:
    """Parse an optional plain number (count, hours, days), refusing values below `minimum`."""
    if text is None:
        return None
    value = parse_decimal(text, field)
    what = "a whole number" if integer else "a number"
    if integer and value != value.to_integral_value():
        raise Refusal(field, repr(text), f"{what} >= {minimum}", INPUT_RULES, "is not whole")
    if value < minimum:
        raise Refusal(field, repr(text), f"{what} >= {minimum}", INPUT_RULES, "is too small")
    return value


MOMENT_FORM = (
    "an ISO 8601 date or a date and time with its UTC offset, e.g. 2026-12-01 or "
    "2026-12-01T09:30+01:00"
)


def _zone_name(zone: tzinfo) -> str:
    """An IANA name, or a fixed offset as typed ("+01:00"; "UTC" for none)."""
    if isinstance(zone, ZoneInfo):
        return zone.key
    offset = datetime(2000, 1, 1, tzinfo=zone).isoformat()[19:]
    return "UTC" if offset in ("+00:00", "") else offset


def _moment(text: str | None, field: str, tz: tzinfo | None) -> tuple[datetime, tzinfo]:
    """The moment typed in `field` and the zone whose calendar days count: a date is the first
    moment of that day in `tz` (default UTC); a date and time needs its UTC offset, and its days
    count in `tz` or, without one, at that fixed offset. Default: now."""
    if text is None:
        zone = tz or UTC
        return clock.now().replace(microsecond=0).astimezone(zone), zone
    typed = text.strip()
    try:
        moment = datetime.combine(date.fromisoformat(typed), time(), tzinfo=tz or UTC)
    except ValueError:
        try:
            moment = datetime.fromisoformat(typed)
        except ValueError:
            raise Refusal(field, repr(text), MOMENT_FORM, INPUT_RULES, "is not a date") from None
    offset = moment.utcoffset()
    if moment.tzinfo is None or offset is None:
        raise Refusal(
            field,
            repr(text),
            MOMENT_FORM,
            INPUT_RULES,
            "has no UTC offset (a date and time without one could be any of 26 hours)",
        )
    zone = tz or (UTC if not offset else timezone(offset))
    try:
        return moment.astimezone(UTC).astimezone(zone), zone
    except OverflowError:
        raise Refusal(
            field,
            repr(text),
            "a moment within the calendar (years 1 to 9999) in every zone",
            INPUT_RULES,
            "is out of range",
        ) from None


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    """Rows for the text table: nested dicts become dotted names."""
    if isinstance(value, dict):
        rows: list[tuple[str, Any]] = []
        for key, sub in value.items():
            rows.extend(_flatten(f"{prefix}.{key}", sub))
        return rows
    return [(prefix, value)]


def _notes_text(title: str, notes: list[Finding]) -> list[str]:
    """Text lines for warnings or notes."""
    lines = []
    for f in notes:
        flag = "" if f.verified else " [unverified]"
        lines.append(f"{title}: [{f.verdict.value}] {f.rule}: {f.message}")
        lines.append(f"    limit {f.limit}; source: {f.source}{flag}")
    return lines


def _show(result: dict[str, Any], as_json: bool, zone: tzinfo | None = None) -> None:
    """Print a result: JSON, or a table followed by its warnings (moments read in `zone`)."""
    if as_json:
        emit(result, True, zone=zone)
        return
    rows: list[tuple[str, Any]] = []
    for key, value in result.items():
        if key != "warnings":
            rows.extend(_flatten(key, value))
    lines = [table(rows, zone=zone), *_notes_text("warning", list(result.get("warnings", [])))]
    emit(result, False, "\n".join(lines))


@_command("rate")
def rate_command(
    dose: Annotated[str | None, _opt("--dose", "Daily dose, e.g. '5 mg/day'.")] = None,
    concentration: Annotated[
        str | None, _opt("--concentration", "Concentration, e.g. '25 mg/mL'.")
    ] = None,
    pump: Annotated[str | None, _opt("--pump", "Pump model: checks its rate range.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Flow rate (mL/day) that delivers a daily dose at a concentration."""
    d = _need(dose, "dose", Kind.DOSE_RATE)
    c = _need(concentration, "concentration", Kind.CONCENTRATION, positive=True)
    r = dosing.rate(d, c)
    result: dict[str, Any] = {"rate": r}
    if pump is not None:
        model = catalog.pump(pump, "pump")
        check_rate(model, r, "dose", f"{d} at {c} (rate {r})")
        result["pump"] = model.model
    result["warnings"] = []
    _show(result, as_json)


@_command("dose")
def dose_command(
    rate: Annotated[str | None, _opt("--rate", "Flow rate, e.g. '0.5 mL/day'.")] = None,
    concentration: Annotated[
        str | None, _opt("--concentration", "Concentration, e.g. '25 mg/mL'.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Daily dose delivered by a flow rate at a concentration (mass unit of the concentration)."""
    r = _need(rate, "rate", Kind.VOLUME_RATE)
    c = _need(concentration, "concentration", Kind.CONCENTRATION)
    _show({"dose": dosing.dose(r, c)}, as_json)


def _bolus_volume(text: str, concentration: Q | None) -> Q:
    """A bolus given as a volume, or as an amount of drug turned into a volume."""
    example = "a volume (e.g. 0.1 mL) or an amount of drug (e.g. 50 mcg, with --concentration)"
    bolus = _either(text, "bolus", (Kind.VOLUME, Kind.MASS), example)
    if bolus.kind is Kind.VOLUME:
        return bolus
    if concentration is None:
        raise _missing("concentration", "a concentration, to turn the --bolus amount into a volume")
    return of(bolus.canonical / concentration.canonical, "mL")


def _basal_rate(rate: str | None, dose: str | None, concentration: Q | None) -> tuple[Q, str]:
    """The basal rate from --rate, or from --dose and --concentration (exactly one way)."""
    if rate is not None and dose is not None:
        raise Refusal(
            "rate",
            repr(rate),
            "either --rate, or --dose with --concentration",
            INPUT_RULES,
            "is given together with --dose",
        )
    if rate is not None:
        return parse(rate, Kind.VOLUME_RATE, "rate"), "rate"
    if dose is None:
        raise _missing("rate", "--rate, or --dose with --concentration")
    d = parse(dose, Kind.DOSE_RATE, "dose")
    if concentration is None:
        raise _missing("concentration", "a concentration, to turn --dose into a rate")
    return dosing.rate(d, concentration), "dose"


def _stability(
    drug: str | None, concentration: Q | None, first_fill: bool, diluted: bool | None
) -> tuple[refill.StabilityLimit | None, list[Finding]]:
    """The stability rule for --drug (a drug or an admixture such as 'morphine+clonidine')."""
    if drug is None:
        note = Finding(
            "stability",
            Verdict.WARN,
            "no --drug given: the drug's stability limit is not checked",
            "give --drug",
            catalog.CATALOG,
            verified=False,
        )
        return None, [note]
    names = [n.strip() for n in drug.split("+") if n.strip()]
    if not names:
        raise Refusal("drug", repr(drug), "a drug name", catalog.CATALOG, "is empty")
    notes: list[Finding] = []
    if names == ["ziconotide"] and concentration is not None and not diluted and not first_fill:
        products = {p.canonical for p in catalog.drug("ziconotide").products}
        if diluted is None and concentration.canonical in products:
            diluted = False  # a commercial strength as filled
        elif concentration.canonical not in products:
            diluted = True
            notes.append(
                Finding(
                    "stability",
                    Verdict.WARN,
                    f"{concentration} is not a commercial Prialt strength: treated as diluted "
                    "(refill within 40 days); give --diluted to confirm",
                    "diluted: 40 day, undiluted: 84 day",
                    catalog.drug("ziconotide").products_source,
                    verified=True,
                )
            )
    limit, more = refill.stability_limit(names, first_fill=first_fill, diluted=diluted)
    return limit, notes + more


def _labeled(pump: catalog.Pump, drug: str | None) -> list[Finding]:
    """A warning for a drug the pump's labeling does not list (non-approved drugs raise the
    SynchroMed II failure rate)."""
    if drug is None:
        return []
    names = [catalog.drug(n.strip(), "drug").name for n in drug.split("+") if n.strip()]
    off = [n for n in names if n not in pump.approved_for]
    if not off:
        return []
    return [
        Finding(
            "pump_labeled_drugs",
            Verdict.WARN,
            f"{', '.join(off)} is not among the drugs labeled for {pump.model} "
            f"({', '.join(pump.approved_for) or 'none listed'})",
            f"one of {', '.join(pump.approved_for) or 'none listed'}",
            f"{pump.approved_for_source}; FDAnews 2013: non-approved drugs, 7 % failure at 78 "
            "months in SynchroMed II/EL",
            verified=True,
        )
    ]


@_command("refill")
def refill_command(
    pump: Annotated[str | None, _opt("--pump", "Pump model, e.g. synchromed-ii-20.")] = None,
    volume: Annotated[str | None, _opt("--volume", "Fill volume, e.g. '20 mL'.")] = None,
    rate: Annotated[str | None, _opt("--rate", "Basal rate, e.g. '0.5 mL/day'.")] = None,
    dose: Annotated[str | None, _opt("--dose", "Daily dose (with --concentration).")] = None,
    concentration: Concentration = None,
    alarm_volume: Annotated[
        str | None, _opt("--alarm-volume", "Low-reservoir alarm volume (default: the pump's).")
    ] = None,
    bolus: Annotated[str | None, _opt("--bolus", "Patient bolus: a volume or an amount.")] = None,
    boluses_per_day: Annotated[
        str | None, _opt("--boluses-per-day", "Allotted boluses per day.")
    ] = None,
    drug: Annotated[
        str | None, _opt("--drug", "Drug or admixture, e.g. ziconotide or morphine+clonidine.")
    ] = None,
    first_fill: Annotated[
        bool, typer.Option("--first-fill", help="First fill of the pump (ziconotide: 14 days).")
    ] = False,
    diluted: Annotated[
        bool | None,
        typer.Option(
            "--diluted/--undiluted",
            help="Diluted or not (ziconotide: 40 or 84 days; not given: the shorter, unless the "
            "concentration is a commercial strength).",
        ),
    ] = None,
    fill_date: Annotated[
        str | None,
        _opt(
            "--fill-date",
            "ISO 8601 date (2026-12-01) or date and time with its UTC offset "
            "(2026-12-01T09:30+01:00); default: now.",
        ),
    ] = None,
    time_zone: Annotated[
        str | None,
        _opt(
            "--time-zone",
            "IANA time zone whose calendar days count (e.g. Europe/Berlin); default: the "
            "offset of --fill-date, else UTC.",
        ),
    ] = None,
    margin_days: Annotated[
        str | None, _opt("--margin-days", "Days before the alarm to refill (default 7).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Refill projection: days to the low-reservoir alarm and to empty, and the date to refill by
    (reservoir with a margin, or drug stability, whichever comes first), counted in the calendar
    days of --time-zone (or of the fill date's offset)."""
    if pump is None:
        raise _missing("pump", f"one of {', '.join(catalog.pumps())}", catalog.CATALOG)
    model = catalog.pump(pump, "pump")
    fill = _need(volume, "volume", Kind.VOLUME, positive=True)
    c = _maybe(concentration, "concentration", Kind.CONCENTRATION, positive=True)
    basal, basal_field = _basal_rate(rate, dose, c)
    if basal.canonical > 0:
        check_rate(model, basal, basal_field)
    if (bolus is None) != (boluses_per_day is None):
        missing = "boluses_per_day" if bolus is not None else "bolus"
        raise _missing(missing, "--bolus and --boluses-per-day together")
    bolus_ml, count = Decimal(0), 0
    if bolus is not None:
        bolus_ml = _bolus_volume(bolus, c).canonical
        count = int(_number(boluses_per_day, "boluses_per_day", integer=True) or 0)
    daily = of(refill.daily_volume_ml(basal.canonical, bolus_ml, count), "mL/day")
    stability, notes = _stability(drug, c, first_fill, diluted)
    margin = _number(margin_days, "margin_days")
    tz = None if time_zone is None else named_zone(time_zone.strip(), "time_zone")
    fill_at, days_in = _moment(fill_date, "fill_date", tz)
    plan = refill.plan_refill(
        model,
        fill,
        daily,
        fill_at=fill_at,
        alarm_volume=_maybe(alarm_volume, "alarm_volume", Kind.VOLUME),
        margin_days=refill.DEFAULT_MARGIN_DAYS if margin is None else margin,
        stability=stability,
        tz=days_in,
    )
    result: dict[str, Any] = {
        "days_to_alarm": plan.days_to_alarm,
        "alarm_date": plan.alarm_at,
        "days_to_empty": plan.days_to_empty,
        "empty_date": plan.empty_at,
        "refill_by": plan.refill_by,
        "limited_by": plan.limited_by,
        "margin": plan.margin,
        "margin_source": plan.margin_source,
        "stability": plan.stability.as_json() if plan.stability else None,
        "fill_date": plan.fill_at,
        "time_zone": _zone_name(days_in),
        "fill_volume": plan.fill_volume,
        "alarm_volume": plan.alarm_volume,
        "alarm_volume_source": plan.alarm_volume_source,
        "daily_volume": plan.daily_volume,
        "daily_volume_rule": refill.BOLUS_RULE_SOURCE if count else "basal rate",
        "pump": model.model,
        "warnings": [*notes, *plan.warnings, *_labeled(model, drug)],
    }
    _show(result, as_json, days_in)


@_command("discrepancy")
def discrepancy_command(
    pump: Annotated[str | None, _opt("--pump", "Pump model.")] = None,
    expected: Annotated[str | None, _opt("--expected", "Expected residual volume.")] = None,
    aspirated: Annotated[str | None, _opt("--aspirated", "Volume aspirated at refill.")] = None,
    delivered_programmed: Annotated[
        str | None, _opt("--delivered-programmed", "Volume programmed since the last fill.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Refill reconciliation: aspirated vs expected residual volume, delivery error against the
    pump accuracy, and a possibly consequential discrepancy (pocket fill, Maino 2017)."""
    if pump is None:
        raise _missing("pump", "a pump model", catalog.CATALOG)
    model = catalog.pump(pump, "pump")
    r = refill.reconcile(
        model,
        _need(expected, "expected", Kind.VOLUME),
        _need(aspirated, "aspirated", Kind.VOLUME),
        _need(delivered_programmed, "delivered_programmed", Kind.VOLUME, positive=True),
    )
    threshold = r.consequential_limit
    result: dict[str, Any] = {
        "difference": r.difference,
        "delivery_error_percent": round_places(r.delivery_error_percent, 2),
        "within_accuracy": r.within_accuracy,
        "finding": r.finding,
        "message": r.message,
        "actual_delivered": r.actual_delivered,
        "accuracy": {
            "percent": r.accuracy_percent,
            "verified": r.accuracy_verified,
            "source": r.accuracy_source,
        },
        "consequential": r.consequential,
        "consequential_limit": None
        if threshold is None
        else {
            "value": threshold.value,
            "source": threshold.source,
            "verified": threshold.verified,
        },
        "pump": model.model,
    }
    if not r.accuracy_verified:
        result["accuracy"]["note"] = VERIFY_NOTE
    _show(result, as_json)


def _catheter_volume(
    catheter: str | None, implanted: str | None, trimmed: str | None
) -> tuple[catalog.Catheter, Q, Q]:
    """The catheter, its implanted length and its volume."""
    if catheter is None:
        raise _missing("catheter", f"one of {', '.join(catalog.catheters())}", catalog.CATALOG)
    model = catalog.catheter(catheter, "catheter")
    length = volumes.implanted_length_cm(
        model,
        _maybe(implanted, "implanted_length", Kind.LENGTH),
        _maybe(trimmed, "trimmed_length", Kind.LENGTH),
    )
    return model, of(length, "cm"), of(volumes.catheter_volume_ml(model, length), "mL")


def _catheter_fields(model: catalog.Catheter, length: Q) -> dict[str, Any]:
    """The catheter facts behind a volume, with source and verification."""
    return {
        "catheter": model.model,
        "implanted_length": length,
        "volume_per_cm": {"value": model.volume_per_cm, "unit": "mL/cm"},
        "volume_per_cm_source": model.volume_per_cm_source,
        "volume_per_cm_verified": model.volume_per_cm_verified,
    }


@_command("catheter")
def catheter_command(
    catheter: CatheterModel = None,
    implanted_length: Annotated[
        str | None, _opt("--implanted-length", "Implanted length, e.g. '45 cm'.")
    ] = None,
    trimmed_length: Annotated[
        str | None, _opt("--trimmed-length", "Length trimmed off, e.g. '65 cm'.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Volume of the implanted catheter (implanted length x the model's volume per cm)."""
    model, length, volume = _catheter_volume(catheter, implanted_length, trimmed_length)
    _show({"volume": volume, **_catheter_fields(model, length)}, as_json)


@_command("priming")
def priming_command(
    dead_volume: Annotated[
        str | None, _opt("--dead-volume", "Pump-outlet dead volume, e.g. '0.2 mL'.")
    ] = None,
    catheter: CatheterModel = None,
    implanted_length: Annotated[str | None, _opt("--implanted-length", "Implanted length.")] = None,
    trimmed_length: Annotated[str | None, _opt("--trimmed-length", "Length trimmed off.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Priming volume: pump-outlet dead volume plus the implanted catheter volume."""
    dead = _need(dead_volume, "dead_volume", Kind.VOLUME)
    model, length, volume = _catheter_volume(catheter, implanted_length, trimmed_length)
    result: dict[str, Any] = {
        "priming_volume": of(volumes.priming_volume_ml(dead.canonical, volume.canonical), "mL"),
        "dead_volume": dead,
        "dead_volume_source": (
            "user-supplied (no confirmed pump tubing volume, "
            "medtronic-synchromed-ii-implant-manual; rule-explicit-dead-volumes)"
        ),
        "catheter_volume": volume,
        **_catheter_fields(model, length),
        "warnings": [volumes.priming_warning()],
    }
    _show(result, as_json)


@_command("bridge")
def bridge_command(
    old_concentration: Annotated[
        str | None, _opt("--old-concentration", "Concentration now in the pump path.")
    ] = None,
    new_concentration: Annotated[
        str | None, _opt("--new-concentration", "Concentration filled.")
    ] = None,
    dose: Annotated[str | None, _opt("--dose", "Prescribed daily dose.")] = None,
    dead_volume: Annotated[
        str | None, _opt("--dead-volume", "Pump tubing + catheter volume.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Bridge after a concentration change: deliver the old drug in the dead volume at the rate
    that keeps the dose, then switch to the new concentration's rate."""
    b = volumes.bridge(
        _need(old_concentration, "old_concentration", Kind.CONCENTRATION, positive=True),
        _need(new_concentration, "new_concentration", Kind.CONCENTRATION, positive=True),
        _need(dose, "dose", Kind.DOSE_RATE),
        _need(dead_volume, "dead_volume", Kind.VOLUME),
    )
    result: dict[str, Any] = {
        "bridge_volume": b.bridge_volume,
        "bridge_rate": b.bridge_rate,
        "bridge_duration": b.bridge_duration,
        "new_rate": b.new_rate,
        "source": volumes.BRIDGE_SOURCE,
        "verified": False,
    }
    _show(result, as_json)


@_command("convert")
def convert_command(
    drug: Annotated[str | None, _opt("--drug", "Drug name, e.g. morphine.")] = None,
    dose: Annotated[
        str | None, _opt("--dose", "Dose: an amount (mg) or a daily dose (mg/day).")
    ] = None,
    from_route: Annotated[str | None, _opt("--from", "oral, iv or intrathecal.")] = None,
    to_route: Annotated[str | None, _opt("--to", "oral, iv or intrathecal.")] = None,
    ratio: Annotated[
        str | None, _opt("--ratio", "Override N in 'larger-dose route : smaller = N : 1'.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Convert a dose between routes with the drug library's ratio (or --ratio)."""
    if drug is None:
        raise _missing("drug", "a drug name", catalog.CATALOG)
    for value, field in ((from_route, "from_route"), (to_route, "to_route")):
        if value is None:
            raise _missing(field, "oral, iv or intrathecal")
    q = _either(
        dose,
        "dose",
        (Kind.DOSE_RATE, Kind.MASS),
        "an amount (e.g. 10 mg) or a daily dose (e.g. 60 mg/day)",
    )
    ratio_value = None if ratio is None else parse_decimal(ratio, "ratio")
    assert from_route is not None and to_route is not None
    c = opioids.convert(drug, q, from_route, to_route, ratio_value)
    result: dict[str, Any] = {
        "dose": c.dose,
        "ratio": c.ratio,
        "ratio_text": c.ratio_text,
        "source": c.source,
        "verified": c.verified,
        "warnings": [
            *([] if c.verified else [_unverified_ratio(c.ratio_text, c.source)]),
            *([c.caution] if c.caution else []),
        ],
    }
    _show(result, as_json)


def _unverified_ratio(ratio_text: str, source: str) -> Finding:
    """A warning that the conversion ratio is not confirmed by the fact sheets."""
    return Finding(
        "conversion_ratio",
        Verdict.WARN,
        f"the ratio {ratio_text} is not confirmed by a source: check it before use",
        ratio_text,
        source,
        verified=False,
    )


def _choice(text: str | None, choices: type[StrEnum], field: str) -> Any:
    """An optional choice of an enum, by its value; refused naming the values it takes."""
    if text is None:
        return None
    try:
        return choices(text.strip().lower())
    except ValueError:
        allowed = ", ".join(c.value for c in choices)
        raise Refusal(field, repr(text), f"one of {allowed}", INPUT_RULES, "is unknown") from None


def _day(text: str | None, field: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Refusal(field, repr(text), "an ISO 8601 date", INPUT_RULES, "is not a date") from None


def _yes_no(text: str | None, field: str) -> bool | None:
    if text is None:
        return None
    answer = text.strip().lower()
    if answer not in ("yes", "no"):
        raise Refusal(field, repr(text), "yes or no", INPUT_RULES, "is unknown")
    return answer == "yes"


@_command("check")
def check_command(
    drug: Annotated[str | None, _opt("--drug", "Drug name.")] = None,
    concentration: Concentration = None,
    dose: Annotated[str | None, _opt("--dose", "Daily dose.")] = None,
    previous_dose: Annotated[
        str | None, _opt("--previous-dose", "Daily dose before this change.")
    ] = None,
    hours_since_change: Annotated[
        str | None, _opt("--hours-since-change", "Hours since the last dose change.")
    ] = None,
    increases_last_7_days: Annotated[
        str | None, _opt("--increases-last-7-days", "Increases in the rolling 7 days before.")
    ] = None,
    origin: Annotated[
        str | None, _opt("--origin", "Spasticity origin: spinal or cerebral (baclofen).")
    ] = None,
    phase: Annotated[
        str | None, _opt("--phase", "titration or maintenance (not given: the strictest steps).")
    ] = None,
    first_dose: Annotated[
        bool,
        typer.Option("--first-dose", help="The drug's first dose in this pump (start dose)."),
    ] = False,
    opioid_status: Annotated[
        str | None, _opt("--opioid-status", "naive, tolerant or unknown (the start dose).")
    ] = None,
    psychosis_history: Annotated[
        str | None, _opt("--psychosis-history", "yes or no (ziconotide's contraindication).")
    ] = None,
    birth_date: Annotated[
        str | None, _opt("--birth-date", "ISO 8601 date, for the labels' age limits.")
    ] = None,
    region: Annotated[str | None, _opt("--region", "Label region: us (default) or eu.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Drug-library checks of a concentration and daily dose, of a first dose (--first-dose) and
    of the step from a previous dose, with the patient's facts when given: verdict ok, warn or
    stop, with every finding, its tier and its source."""
    if drug is None:
        raise _missing("drug", "a drug name", catalog.CATALOG)
    increases = _number(increases_last_7_days, "increases_last_7_days", integer=True)
    if first_dose and previous_dose is not None:
        raise Refusal(
            "first_dose",
            "with --previous-dose",
            "a first dose (no previous dose of the drug in the pump) or a step from one",
            INPUT_RULES,
            "contradicts the previous dose",
        )
    born = _day(birth_date, "birth_date")
    if born is not None and born > clock.now().date():
        raise Refusal(
            "birth_date", born.isoformat(), "a day in the past", INPUT_RULES, "is in the future"
        )
    patient_given = (opioid_status, psychosis_history, birth_date) != (None, None, None)
    patient = (
        PatientFacts(
            birth_date=born,
            opioid_status=_choice(opioid_status, OpioidStatus, "opioid_status")
            or OpioidStatus.UNKNOWN,
            psychosis_history=_yes_no(psychosis_history, "psychosis_history"),
        )
        if patient_given
        else None
    )
    decision = checks.check(
        drug,
        _need(concentration, "concentration", Kind.CONCENTRATION, positive=True),
        _need(dose, "dose", Kind.DOSE_RATE),
        previous_dose=_maybe(previous_dose, "previous_dose", Kind.DOSE_RATE, positive=True),
        hours_since_change=_number(hours_since_change, "hours_since_change"),
        origin=origin,
        region=checks.DEFAULT_REGION if region is None else region,
        increases_last_7_days=None if increases is None else int(increases),
        phase=_choice(phase, Phase, "phase"),
        starting=first_dose,
        patient=patient,
        on=clock.now().date(),
    )
    result: dict[str, Any] = {
        "verdict": decision.verdict,
        "findings": list(decision.findings),
        "drug": catalog.drug(drug, "drug").name,
        "region": (region or checks.DEFAULT_REGION).strip().lower(),
        "origin": origin,
    }
    if as_json:
        emit(to_json(result), True)
    else:
        emit(result, False, decision_text(decision))


@_command("itb-start")
def itb_start_command(
    effective_bolus: Annotated[
        str | None, _opt("--effective-bolus", "Screening bolus that worked, e.g. '50 mcg'.")
    ] = None,
    effect_hours: Annotated[
        str | None, _opt("--effect-hours", "How long its effect lasted, in hours.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Intrathecal baclofen starting daily dose from the effective screening bolus."""
    bolus = _need(effective_bolus, "effective_bolus", Kind.MASS, positive=True)
    hours = _number(effect_hours, "effect_hours")
    if hours is None:
        raise _missing("effect_hours", "hours the effect lasted, e.g. 6")
    start = baclofen.starting_daily_dose(bolus, hours)
    result: dict[str, Any] = {
        "daily_dose": start.daily_dose,
        "factor": start.factor,
        "reason": start.reason,
        "source": start.source,
    }
    _show(result, as_json)


@_command("mri")
def mri_command(
    pump: Annotated[str | None, _opt("--pump", "Pump model, e.g. synchromed-ii-20.")] = None,
    drug: Annotated[
        str | None, _opt("--drug", "What the pump holds, e.g. baclofen (adds its watch).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """What to do around an MRI scan with a pump: before, during and after, with sources."""
    if pump is None:
        raise _missing("pump", f"a pump model: {', '.join(sorted(catalog.pumps()))}")
    drugs = tuple(d.strip() for d in (drug or "").split("+") if d.strip())
    for name in drugs:
        catalog.drug(name, "drug")
    guidance = mri_guidance(catalog.pump(pump, "pump"), drugs)
    result: dict[str, Any] = {
        "pump": guidance.model,
        "name": guidance.pump_name,
        "behaviour": guidance.behaviour,
        "summary": guidance.summary,
        "check_labeling": guidance.check_labeling,
        "instructions": [
            {"when": i.when.value, "text": i.text, "source": i.source, "verified": i.verified}
            for i in guidance.instructions
        ],
    }
    if as_json:
        emit(result, True)
        return
    lines = [f"{guidance.pump_name}: {guidance.summary}"]
    for i in guidance.instructions:
        flag = "" if i.verified else f" [unverified: {VERIFY_NOTE}]"
        lines.append(f"{i.when.value}: {i.text}{flag}")
        lines.append(f"    source: {i.source}")
    emit(result, False, "\n".join(lines))
