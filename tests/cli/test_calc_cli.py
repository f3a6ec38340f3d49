"""`painpump calc ...` end to end: the exact JSON contract, readable tables, and refusals (exit 2,
JSON error naming field, value and limit, never a traceback); a refill's fill date with its
offset or in a named zone, its days counted on that zone's calendar across daylight saving."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from frozen import NOW
from painpump.cli import main
from painpump.core.errors import ECHO_MAX

EXIT_REFUSED = 2
_REGISTERED: list[bool] = []


def _register_once() -> None:
    """Register the sub-commands once: main.run() registers on every call, which would grow the
    app with each in-process run."""
    if not _REGISTERED:
        main._register()
        _REGISTERED.append(True)


def run_cli(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """Run `painpump` in-process as the console script does: (exit status, stdout, stderr)."""
    _register_once()
    monkeypatch.setattr(main, "_register", lambda: None)
    monkeypatch.setattr(sys, "argv", ["painpump", *args])
    code = 0
    try:
        main.run()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def calc(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    def go(*args: str) -> tuple[int, Any]:
        code, out, err = run_cli(["calc", *args, "--json"], monkeypatch, capsys)
        assert "Traceback" not in out + err
        return code, json.loads(out)

    return go


def qty(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit}


def test_rate_from_dose_and_concentration(calc: Any) -> None:
    code, out = calc("rate", "--dose", "5 mg/day", "--concentration", "25 mg/mL")
    assert code == 0
    assert out["rate"] == qty(0.2, "mL/day")
    assert out["warnings"] == []


def test_rate_below_synchromed_minimum_exits_2_naming_limit(calc: Any) -> None:
    code, out = calc(
        "rate",
        "--dose",
        "1 mcg/day",
        "--concentration",
        "25 mcg/mL",
        "--pump",
        "synchromed-ii-20",
    )
    assert code == EXIT_REFUSED
    error = out["error"]
    assert error["field"] == "--dose"
    assert "0.04 mL/day" in error["value"]
    assert (
        error["limit"] == ">= 0.048 mL/day (min_rate of synchromed-ii-20, hard: the device's range)"
    )
    assert "prialt.com" in error["source"]


@pytest.mark.parametrize(
    ("option", "typed"),
    [
        ("--dose", "1e1000000 mg/day"),
        ("--concentration", "1e1000000 mg/mL"),
        ("--dose", "-1e1000000 mg/day"),
        ("--dose", "9" * 5000 + " mg/day"),
    ],
    ids=["dose-1e1000000", "concentration-1e1000000", "negative", "5000-digits"],
)
def test_a_number_beyond_any_dose_is_refused_naming_the_option_never_an_internal_error(
    calc: Any, option: str, typed: str
) -> None:
    """Regression: a dose of 1e1000000 answered `internal error: Overflow` with exit 1; the
    value is echoed short (its first characters and its length)."""
    values = {"--dose": "5 mg/day", "--concentration": "25 mg/mL"} | {option: typed}
    code, out = calc("rate", *[item for pair in values.items() for item in pair])
    assert code == EXIT_REFUSED
    error = out["error"]
    assert error["field"] == option and "below 10^12" in error["limit"]
    assert len(error["value"]) <= ECHO_MAX


def test_rate_at_synchromed_minimum_is_answered(calc: Any) -> None:
    code, out = calc(
        "rate",
        "--dose",
        "1.2 mcg/day",
        "--concentration",
        "25 mcg/mL",
        "--pump",
        "synchromed-ii-20",
    )
    assert code == 0
    assert out["rate"] == qty(0.048, "mL/day")


def test_rate_above_an_unverified_device_maximum_is_refused_hard(calc: Any) -> None:
    code, out = calc(
        "rate",
        "--dose",
        "250 mg/day",
        "--concentration",
        "10 mg/mL",
        "--pump",
        "synchromed-ii-20",
    )
    assert code == EXIT_REFUSED
    error = out["error"]
    assert error["limit"] == "<= 24 mL/day (max_rate of synchromed-ii-20, hard: the device's range)"
    assert "not found" in error["source"]
    assert "verify against the device labeling" in error["source"]


@pytest.mark.parametrize(
    ("rate", "concentration", "dose"),
    [
        ("0.5 mL/day", "2000 mcg/mL", qty(1000, "mcg/day")),
        ("0.2 mL/day", "25 mg/mL", qty(5, "mg/day")),
        ("0.02 mL/hour", "10 mg/mL", qty(4.8, "mg/day")),
    ],
    ids=[
        "mcg-concentration-gives-mcg-per-day",
        "mg-concentration-gives-mg-per-day",
        "hourly-rate-converted",
    ],
)
def test_dose_in_the_mass_unit_of_the_concentration(
    calc: Any, rate: str, concentration: str, dose: dict[str, Any]
) -> None:
    code, out = calc("dose", "--rate", rate, "--concentration", concentration)
    assert code == 0
    assert out["dose"] == dose


def test_refill_contract_fields(calc: Any) -> None:
    code, out = calc(
        "refill",
        "--pump",
        "synchromed-ii-20",
        "--volume",
        "20 mL",
        "--rate",
        "0.5 mL/day",
        "--drug",
        "baclofen",
        "--fill-date",
        "2026-03-01",
    )
    assert code == 0
    assert out["days_to_alarm"] == qty(36, "day")
    assert out["alarm_date"] == "2026-04-06T00:00:00Z"
    assert out["days_to_empty"] == qty(40, "day")
    assert out["empty_date"] == "2026-04-10T00:00:00Z"
    assert out["refill_by"] == "2026-03-30"
    assert out["limited_by"] == "reservoir"
    assert out["margin"] == qty(7, "day")
    assert out["stability"]["days"] == qty(180, "day")
    assert out["stability"]["verified"] is False
    assert out["alarm_volume"] == qty(2, "mL")


ZICONOTIDE_FIRST_FILL = [
    "refill",
    "--pump",
    "synchromed-ii-20",
    "--volume",
    "20 mL",
    "--rate",
    "0.5 mL/day",
    "--drug",
    "ziconotide",
    "--first-fill",
]


def test_refill_ziconotide_first_fill_limited_by_stability(calc: Any) -> None:
    code, out = calc(*ZICONOTIDE_FIRST_FILL, "--fill-date", "2026-03-01T08:00:00Z")
    assert code == 0
    assert out["limited_by"] == "stability"
    assert out["refill_by"] == "2026-03-15"
    assert out["stability"]["rule"] == "first_refill"
    assert "14 days" in out["stability"]["source"]
    assert out["stability"]["verified"] is True


@pytest.mark.parametrize(
    ("flag", "rule", "refill_by"),
    [
        ((), "max_interval_diluted", "2026-03-04"),
        (("--diluted",), "max_interval_diluted", "2026-03-04"),
        (("--undiluted",), "max_interval_undiluted", "2026-04-16"),
    ],
    ids=["not-said-the-shorter", "diluted", "undiluted"],
)
def test_ziconotide_of_unknown_dilution_is_refilled_by_the_shorter_rule(
    calc: Any, flag: tuple[str, ...], rule: str, refill_by: str
) -> None:
    """20 mL at 0.2 mL/day, alarm at 2 mL: the reservoir allows 83 days (90 less the margin)."""
    code, out = calc(
        "refill",
        *("--pump", "synchromed-ii-20", "--volume", "20 mL", "--rate", "0.2 mL/day"),
        *("--drug", "ziconotide", *flag, "--fill-date", "2026-01-23T08:00:00Z"),
    )
    assert code == 0, out
    assert (out["stability"]["rule"], out["refill_by"]) == (rule, refill_by)


def test_a_fill_date_with_its_offset_counts_days_at_that_offset(calc: Any) -> None:
    # 00:30 on 29 March at +01:00 is still the 28th in UTC: the days count from the 29th
    code, out = calc(*ZICONOTIDE_FIRST_FILL, "--fill-date", "2026-03-29T00:30+01:00")
    assert code == 0
    assert out["fill_date"] == "2026-03-29T00:30:00+01:00"
    assert out["time_zone"] == "+01:00"
    assert out["refill_by"] == "2026-04-12"
    assert out["alarm_date"] == "2026-05-04T00:30:00+01:00"  # 36 days of 24 hours later


def test_a_fill_date_without_an_offset_is_refused_naming_the_field_and_the_form(
    calc: Any,
) -> None:
    code, out = calc(*ZICONOTIDE_FIRST_FILL, "--fill-date", "2026-12-01T09:30")
    assert code == EXIT_REFUSED
    error = out["error"]
    assert error["field"] == "--fill-date"
    assert error["value"] == "'2026-12-01T09:30'"
    assert "has no UTC offset" in error["message"]
    assert "2026-12-01T09:30+01:00" in error["limit"]


def test_a_ziconotide_first_fill_on_the_evening_before_the_spring_change_is_due_14_local_days_on(
    calc: Any,
) -> None:
    # Saturday 28 March 2026, 23:30 in Berlin; the clocks go forward that night. Fourteen
    # periods of 24 hours would end at 00:30 on 12 April (summer time): one day too late.
    code, out = calc(
        *ZICONOTIDE_FIRST_FILL,
        "--fill-date",
        "2026-03-28T23:30+01:00",
        "--time-zone",
        "Europe/Berlin",
    )
    assert code == 0
    assert out["limited_by"] == "stability"
    assert out["refill_by"] == "2026-04-11"
    assert out["time_zone"] == "Europe/Berlin"
    assert out["fill_date"] == "2026-03-28T23:30:00+01:00"
    # alarm and empty are exact instants, shown on Berlin's summer clock
    assert out["alarm_date"] == "2026-05-04T00:30:00+02:00"
    assert out["empty_date"] == "2026-05-08T00:30:00+02:00"


def test_a_plain_date_in_a_named_zone_is_the_start_of_that_local_day(calc: Any) -> None:
    code, out = calc(
        *ZICONOTIDE_FIRST_FILL, "--fill-date", "2026-03-28", "--time-zone", "Europe/Berlin"
    )
    assert code == 0
    assert out["fill_date"] == "2026-03-28T00:00:00+01:00"
    assert out["refill_by"] == "2026-04-11"
    assert out["alarm_date"] == "2026-05-03T01:00:00+02:00"  # 36 x 24 h across the change


def test_without_a_fill_date_the_fill_is_now_on_the_zones_clock(calc: Any) -> None:
    code, out = calc(*ZICONOTIDE_FIRST_FILL, "--time-zone", "Europe/Berlin")
    assert code == 0
    berlin = NOW.astimezone(ZoneInfo("Europe/Berlin"))
    assert out["fill_date"].startswith(berlin.strftime("%Y-%m-%dT%H:%M"))
    assert datetime.fromisoformat(out["fill_date"]).utcoffset() == berlin.utcoffset()


def test_the_refill_table_prints_moments_with_their_offset_and_zone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        [
            "calc",
            *ZICONOTIDE_FIRST_FILL,
            "--fill-date",
            "2026-03-28",
            "--time-zone",
            "Europe/Berlin",
        ],
        monkeypatch,
        capsys,
    )
    assert code == 0
    rows = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    assert rows["fill_date"] == "2026-03-28T00:00:00+01:00 CET"
    assert rows["alarm_date"] == "2026-05-03T01:00:00+02:00 CEST"
    assert rows["refill_by"] == "2026-04-11"
    assert rows["time_zone"] == "Europe/Berlin"


def test_refill_ziconotide_non_commercial_strength_is_treated_as_diluted(calc: Any) -> None:
    code, out = calc(
        "refill",
        "--pump",
        "synchromed-ii-40",
        "--volume",
        "40 mL",
        "--dose",
        "2.4 mcg/day",
        "--concentration",
        "5 mcg/mL",
        "--drug",
        "ziconotide",
        "--fill-date",
        "2026-03-01",
    )
    assert code == 0
    assert out["stability"]["rule"] == "max_interval_diluted"
    assert out["refill_by"] == "2026-04-10"
    assert any("treated as diluted" in w["message"] for w in out["warnings"])


def test_refill_prometra_counts_every_allotted_bolus(calc: Any) -> None:
    code, out = calc(
        "refill",
        "--pump",
        "prometra-ii-20",
        "--volume",
        "20 mL",
        "--dose",
        "2 mg/day",
        "--concentration",
        "10 mg/mL",
        "--bolus",
        "0.5 mg",
        "--boluses-per-day",
        "4",
        "--fill-date",
        "2026-03-01",
        "--margin-days",
        "0",
    )
    assert code == 0
    assert out["daily_volume"] == qty(0.4, "mL/day")
    assert out["alarm_volume"] == qty(3, "mL")
    assert out["days_to_alarm"] == qty(42.5, "day")
    assert out["alarm_date"] == "2026-04-12T12:00:00Z"
    assert "Prometra PTC Guide" in out["daily_volume_rule"]


def test_refill_off_label_drug_warns_for_the_pump(calc: Any) -> None:
    code, out = calc(
        "refill",
        "--pump",
        "synchromed-ii-20",
        "--volume",
        "20 mL",
        "--rate",
        "0.5 mL/day",
        "--drug",
        "hydromorphone",
        "--fill-date",
        "2026-03-01",
    )
    assert code == 0
    rules = [w["rule"] for w in out["warnings"]]
    assert "pump_labeled_drugs" in rules
    assert "stability" in rules


def test_discrepancy_contract_fields(calc: Any) -> None:
    code, out = calc(
        "discrepancy",
        "--pump",
        "synchromed-ii-20",
        "--expected",
        "5 mL",
        "--aspirated",
        "2.5 mL",
        "--delivered-programmed",
        "15 mL",
    )
    assert code == 0
    assert out["difference"] == qty(-2.5, "mL")
    assert out["delivery_error_percent"] == pytest.approx(16.67)
    assert out["within_accuracy"] is False
    assert out["finding"] == "overinfusion"
    assert out["consequential"] is True
    assert out["accuracy"]["percent"] == 14.5
    assert out["accuracy"]["verified"] is True


@pytest.mark.parametrize(
    ("args", "field", "limit_part"),
    [
        (["rate", "--dose", "5 mL", "--concentration", "25 mg/mL"], "--dose", "dose rate"),
        (["rate", "--dose", "5", "--concentration", "25 mg/mL"], "--dose", "with its unit"),
        (["rate", "--dose", "-5 mg/day", "--concentration", "25 mg/mL"], "--dose", "at least 0"),
        (["rate", "--dose", "5 mg/day"], "--concentration", "concentration"),
        (
            ["check", "--drug", "aspirin", "--concentration", "1 mg/mL", "--dose", "1 mg/day"],
            "--drug",
            "morphine",
        ),
        (
            ["refill", "--pump", "synchromed-ii-20", "--volume", "25 mL", "--rate", "0.5 mL/day"],
            "--volume",
            "<= 20 mL (pump reservoir",
        ),
        (
            ["refill", "--pump", "synchromed-ii-20", "--volume", "-1 mL", "--rate", "0.5 mL/day"],
            "--volume",
            "at least 0",
        ),
        (
            ["refill", "--pump", "synchromed-ii-20", "--volume", "10 mL", "--rate", "0.04 mL/day"],
            "--rate",
            ">= 0.048 mL/day",
        ),
        (
            [
                "refill",
                "--pump",
                "synchromed-ii-20",
                "--volume",
                "10 mL",
                "--rate",
                "0.5 mL/day",
                "--alarm-volume",
                "10 mL",
            ],
            "--alarm-volume",
            "< 10 mL",
        ),
        (
            ["refill", "--pump", "nopump", "--volume", "10 mL", "--rate", "0.5 mL/day"],
            "--pump",
            "synchromed-ii-20",
        ),
        (
            [
                "refill",
                "--pump",
                "synchromed-ii-20",
                "--volume",
                "10 mL",
                "--rate",
                "0.5 mL/day",
                "--fill-date",
                "March 1",
            ],
            "--fill-date",
            "ISO 8601",
        ),
        (
            [
                "refill",
                "--pump",
                "synchromed-ii-20",
                "--volume",
                "10 mL",
                "--rate",
                "0.5 mL/day",
                "--fill-date",
                "2026-03-01 09:30",
            ],
            "--fill-date",
            "with its UTC offset",
        ),
        (
            [
                "refill",
                "--pump",
                "synchromed-ii-20",
                "--volume",
                "10 mL",
                "--rate",
                "0.5 mL/day",
                "--time-zone",
                "CET+1",
            ],
            "--time-zone",
            "IANA time zone",
        ),
        (
            [
                "refill",
                "--pump",
                "synchromed-ii-20",
                "--volume",
                "10 mL",
                "--rate",
                "0.5 mL/day",
                "--bolus",
                "0.1 mL",
            ],
            "--boluses-per-day",
            "together",
        ),
        (
            ["catheter", "--catheter", "prometra-catheter", "--trimmed-length", "111 cm"],
            "--trimmed-length",
            "<= 110 cm",
        ),
        (["catheter", "--catheter", "prometra-catheter"], "--implanted-length", "exactly one"),
        (
            [
                "convert",
                "--drug",
                "hydromorphone",
                "--dose",
                "1 mg",
                "--from",
                "oral",
                "--to",
                "intrathecal",
            ],
            "--ratio",
            "ratio for hydromorphone",
        ),
        (
            ["itb-start", "--effective-bolus", "150 mcg", "--effect-hours", "4"],
            "--effective-bolus",
            "<= 100 mcg",
        ),
        (
            [
                "check",
                "--drug",
                "baclofen",
                "--concentration",
                "2 mg/mL",
                "--dose",
                "1 mg/day",
                "--region",
                "uk",
            ],
            "--region",
            "us, eu",
        ),
        (
            [
                "discrepancy",
                "--pump",
                "synchromed-ii-20",
                "--expected",
                "5 mL",
                "--aspirated",
                "4 mL",
                "--delivered-programmed",
                "0 mL",
            ],
            "--delivered-programmed",
            "above 0",
        ),
    ],
    ids=[
        "volume-given-as-dose",
        "bare-number",
        "negative-dose",
        "missing-concentration",
        "unknown-drug",
        "overfill",
        "negative-volume",
        "rate-below-synchromed-minimum",
        "alarm-not-below-fill",
        "unknown-pump",
        "bad-date",
        "date-and-time-without-offset",
        "unknown-time-zone",
        "bolus-without-count",
        "trimmed-longer-than-catheter",
        "no-catheter-length",
        "no-sourced-ratio",
        "bolus-beyond-screening",
        "unknown-region",
        "nothing-programmed",
    ],
)
def test_bad_input_exits_2_with_field_value_and_limit(
    calc: Any, args: list[str], field: str, limit_part: str
) -> None:
    code, out = calc(*args)
    assert code == EXIT_REFUSED
    error = out["error"]
    assert error["field"] == field
    assert error["value"]
    assert limit_part in error["limit"]
    assert field in error["message"]


def test_check_json_verdict_and_findings(calc: Any) -> None:
    code, out = calc(
        "check",
        "--drug",
        "ziconotide",
        "--concentration",
        "25 mcg/mL",
        "--dose",
        "19.3 mcg/day",
    )
    assert code == 0
    assert out["verdict"] == "stop"
    assert out["region"] == "us"
    stop = [f for f in out["findings"] if f["verdict"] == "stop"]
    assert stop[0]["rule"] == "max_daily_dose"
    assert stop[0]["limit"] == "<= 19.2 mcg/day (US)"
    assert "Prialt US label" in stop[0]["source"]
    assert (stop[0]["verified"], stop[0]["tier"]) == (False, "hard")  # hard, read in summaries


def test_check_eu_region_allows_21_6(calc: Any) -> None:
    code, out = calc(
        "check",
        "--drug",
        "ziconotide",
        "--concentration",
        "25 mcg/mL",
        "--dose",
        "21.6 mcg/day",
        "--region",
        "eu",
    )
    assert (code, out["verdict"]) == (0, "ok")


def test_check_baclofen_titration_step_from_cli(calc: Any) -> None:
    code, out = calc(
        "check",
        "--drug",
        "baclofen",
        "--concentration",
        "2000 mcg/mL",
        "--dose",
        "130.1 mcg/day",
        "--previous-dose",
        "100 mcg/day",
        "--origin",
        "spinal",
        "--hours-since-change",
        "24",
    )
    assert code == 0
    assert out["verdict"] == "stop"
    assert any(f["rule"] == "max_step_percent" and f["verdict"] == "stop" for f in out["findings"])


def test_catheter_priming_bridge_convert_itb_start(calc: Any) -> None:
    assert calc("catheter", "--catheter", "prometra-catheter", "--trimmed-length", "65 cm")[1][
        "volume"
    ] == qty(0.117, "mL")
    priming = calc(
        "priming",
        "--dead-volume",
        "0.2 mL",
        "--catheter",
        "prometra-catheter",
        "--implanted-length",
        "45 cm",
    )[1]
    assert priming["priming_volume"] == qty(0.317, "mL")
    assert priming["warnings"][0]["rule"] == "priming_bolus_mixing"
    bridge = calc(
        "bridge",
        "--old-concentration",
        "10 mg/mL",
        "--new-concentration",
        "20 mg/mL",
        "--dose",
        "4 mg/day",
        "--dead-volume",
        "0.25 mL",
    )[1]
    assert bridge["bridge_volume"] == qty(0.25, "mL")
    assert bridge["bridge_rate"] == qty(0.4, "mL/day")
    assert bridge["bridge_duration"] == qty(15, "hour")
    assert bridge["new_rate"] == qty(0.2, "mL/day")
    converted = calc(
        "convert",
        "--drug",
        "morphine",
        "--dose",
        "300 mg/day",
        "--from",
        "oral",
        "--to",
        "intrathecal",
    )[1]
    assert converted["dose"] == qty(1, "mg/day")
    assert converted["ratio"] == 300
    assert "Krames" in converted["source"]
    user = calc(
        "convert",
        "--drug",
        "morphine",
        "--dose",
        "10 mg",
        "--from",
        "oral",
        "--to",
        "intrathecal",
        "--ratio",
        "100",
    )[1]
    assert user["dose"] == qty(0.1, "mg")
    assert user["source"] == "user-supplied ratio"
    start = calc("itb-start", "--effective-bolus", "50 mcg", "--effect-hours", "9")[1]
    assert start["daily_dose"] == qty(50, "mcg/day")
    assert "Lioresal label" in start["source"]


def test_text_output_is_a_readable_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        [
            "calc",
            "check",
            "--drug",
            "baclofen",
            "--concentration",
            "2000 mg/mL",
            "--dose",
            "100 mcg/day",
        ],
        monkeypatch,
        capsys,
    )
    assert code == 0
    assert out.startswith("verdict  STOP")
    assert "but 2000 mcg/mL is within it: a mg/mcg slip?" in out
    code, out, _ = run_cli(
        ["calc", "rate", "--dose", "5 mg/day", "--concentration", "25 mg/mL"], monkeypatch, capsys
    )
    assert "rate  0.2 mL/day" in out


def test_text_refusal_goes_to_stderr_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        ["calc", "rate", "--dose", "5 mL", "--concentration", "25 mg/mL"], monkeypatch, capsys
    )
    assert code == EXIT_REFUSED
    assert out == ""
    assert err.startswith("refused: --dose: '5 mL'")


def test_console_script_refuses_without_traceback() -> None:
    code = "import sys; from painpump.cli.main import run; sys.argv[0] = 'painpump'; run()"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "calc",
            "refill",
            "--pump",
            "synchromed-ii-20",
            "--volume",
            "21 mL",
            "--rate",
            "0.5 mL/day",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == EXIT_REFUSED
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["error"]["field"] == "--volume"


@pytest.mark.parametrize(
    ("args", "behaviour", "first_source", "text"),
    [
        (
            ["--pump", "synchromed-ii-40", "--drug", "baclofen"],
            "motor_stall",
            "medtronic-mri-guidelines-synchromed-ii",
            "baclofen: infusion is interrupted by the scan",
        ),
        (
            ["--pump", "prometra-ii-20"],
            "valve_shutoff",
            "flowonix-prometra-mri-safety-pl-21604-02",
            "reset it by the manual procedure",
        ),
        (
            ["--pump", "constant-flow"],
            "none",
            "rule-clinic-setting",
            "check the device's MRI labeling",
        ),
    ],
)
def test_calc_mri_gives_the_instructions_of_each_device_kind(
    args: list[str],
    behaviour: str,
    first_source: str,
    text: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(["calc", "mri", *args, "--json"], monkeypatch, capsys)
    assert code == 0
    result = json.loads(out)
    assert result["behaviour"] == behaviour
    assert result["instructions"][0]["source"].startswith(first_source)
    assert text in " ".join(i["text"] for i in result["instructions"])
    code, out, _ = run_cli(["calc", "mri", *args], monkeypatch, capsys)
    assert code == 0 and text in out and f"source: {first_source}" in out


def test_calc_mri_refuses_an_unknown_pump_naming_the_option(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["calc", "mri", "--pump", "nope"], monkeypatch, capsys)
    assert code == EXIT_REFUSED
    assert "--pump: 'nope' is not a known pump model" in err


def test_check_of_a_first_dose_with_the_patients_facts_gives_each_tier(calc: Any) -> None:
    code, out = calc(
        "check",
        "--drug",
        "ziconotide",
        "--concentration",
        "25 mcg/mL",
        "--dose",
        "3 mcg/day",
        "--first-dose",
        "--psychosis-history",
        "yes",
    )
    assert code == 0
    assert out["verdict"] == "stop"
    tiers = {(f["rule"], f["verdict"], f["tier"]) for f in out["findings"]}
    assert ("max_start_dose", "stop", "hard") in tiers
    assert ("max_start_dose", "warn", "soft") in tiers
    assert ("contraindication", "stop", "hard") in tiers


@pytest.mark.parametrize(
    ("option", "value"),
    [("--phase", "weaning"), ("--opioid-status", "sometimes"), ("--psychosis-history", "maybe")],
    ids=["phase", "opioid-status", "psychosis-history"],
)
def test_check_refuses_an_unknown_choice_naming_the_option(
    calc: Any, option: str, value: str
) -> None:
    code, out = calc(
        "check",
        "--drug",
        "morphine",
        "--concentration",
        "10 mg/mL",
        "--dose",
        "1 mg/day",
        option,
        value,
    )
    assert code == EXIT_REFUSED
    assert out["error"]["field"] == option


def test_check_text_shows_the_tier_of_a_broken_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run_cli(
        [
            "calc",
            "check",
            "--drug",
            "baclofen",
            "--concentration",
            "2000 mcg/mL",
            "--dose",
            "120 mcg/day",
            "--previous-dose",
            "100 mcg/day",
            "--hours-since-change",
            "24",
            "--phase",
            "titration",
        ],
        monkeypatch,
        capsys,
    )
    assert "[stop, hard limit] max_step_percent" in out


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (("--first-dose", "--previous-dose", "1 mg/day"), "--first-dose"),
        (("--birth-date", "2999-01-01"), "--birth-date"),
    ],
    ids=["first-dose-with-a-previous-dose", "birth-date-in-the-future"],
)
def test_check_refuses_contradictory_or_impossible_patient_inputs(
    calc: Any, extra: tuple[str, ...], field: str
) -> None:
    code, out = calc(
        "check", "--drug", "morphine", "--concentration", "10 mg/mL", "--dose", "1 mg/day", *extra
    )
    assert code == EXIT_REFUSED
    assert out["error"]["field"] == field


def test_regression_a_percent_sign_after_a_concentration_is_refused_not_read_as_a_hundredth(
    calc: Any,
) -> None:
    """Regression: `calc rate --concentration "25 mg/mL%"` answered a rate of 20 mL/day (the
    concentration read as 0.25 mg/mL) with exit 0."""
    code, out = calc("rate", "--dose", "5 mg/day", "--concentration", "25 mg/mL%")
    assert code == EXIT_REFUSED
    assert out["error"]["field"] == "--concentration"
    assert out["error"]["message"].startswith("--concentration: '25 mg/mL%' has the sign '%'")
