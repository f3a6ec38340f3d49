"""Sources are public and in the repository: nothing under src/ or docs/ cites the team's fact
sheets or the design notes outside the repository, and every `source` in the packaged data files
starts with keys listed in docs/sources.md (public sources) or docs/design-rules.md (the
project's own rules)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src" / "painpump" / "core" / "data"
OUTSIDE = re.compile(r"dosing(-second-pass)?\.md|devices\.md|DESIGN\.md")
KEY = r"[a-z0-9]+(?:-[a-z0-9]+)*"
LISTED = re.compile(rf"^(?:#+ |- )`({KEY})`", re.MULTILINE)
CITED = re.compile(rf"^({KEY}(?:, {KEY})*)[:;( ]")


def listed_keys(name: str) -> set[str]:
    return set(LISTED.findall((ROOT / "docs" / name).read_text(encoding="utf-8")))


def sources(node: Any) -> Iterator[str]:
    """Every `source` text in a parsed data file, however deep."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "source" and isinstance(value, str):
                yield value
            else:
                yield from sources(value)
    elif isinstance(node, list):
        for item in node:
            yield from sources(item)


def test_nothing_in_src_or_docs_cites_a_document_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("src", "docs")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file() and path.suffix in {".py", ".toml", ".md", ".html", ".txt", ".json"}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_the_lists_of_sources_and_rules_have_unique_keys() -> None:
    public, rules = listed_keys("sources.md"), listed_keys("design-rules.md")
    assert len(public) >= 20 and len(rules) >= 10
    assert all(key.startswith("rule-") for key in rules)
    assert not any(key.startswith("rule-") for key in public)
    for name in ("sources.md", "design-rules.md"):
        text = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert len(LISTED.findall(text)) == len(listed_keys(name)), f"{name}: a key twice"


def test_every_data_source_starts_with_listed_keys() -> None:
    known = listed_keys("sources.md") | listed_keys("design-rules.md")
    checked = 0
    for path in sorted(DATA.glob("*.toml")):
        for text in sources(tomllib.loads(path.read_text(encoding="utf-8"))):
            cited = CITED.match(text)
            assert cited, f"{path.name}: source does not start with a key: {text!r}"
            unknown = set(cited.group(1).split(", ")) - known
            assert not unknown, f"{path.name}: {sorted(unknown)} not in docs: {text!r}"
            checked += 1
    assert checked >= 50


def entries(name: str) -> dict[str, str]:
    """Each `### `key`` entry of a docs file with its text."""
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    parts = re.split(rf"^### `({KEY})`\n", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


IDENTIFIED = re.compile(r"https?://|doi:|PMID \d+|PMC\d+|set id [0-9a-f-]{36}")


def test_every_source_entry_has_an_address_or_identifier_and_says_what_it_gives() -> None:
    found = entries("sources.md")
    assert set(found) == listed_keys("sources.md")
    for key, text in found.items():
        assert IDENTIFIED.search(text) or "citation incomplete" in text, (
            f"{key}: no address, DOI, PMID or set id, and does not say its citation is incomplete"
        )
        assert re.search(r"painpump\s+takes", text), f"{key}: does not say what it gives"


def test_a_verified_device_value_rests_on_a_public_source() -> None:
    for name in ("pumps.toml", "catheters.toml"):
        for text in sources(tomllib.loads((DATA / name).read_text(encoding="utf-8"))):
            cited = CITED.match(text)
            assert cited
            keys = cited.group(1).split(", ")
            if all(key.startswith("rule-") for key in keys):
                assert "verified = true" not in text
    for model, pump in _pumps().items():
        for field, value in pump.items():
            if isinstance(value, dict) and value.get("verified"):
                keys = CITED.match(value["source"])
                assert keys, f"{model} {field}"
                assert not all(k.startswith("rule-") for k in keys.group(1).split(", ")), (
                    f"{model} {field}: verified but rests only on the project's own rules"
                )


def _pumps() -> dict[str, dict[str, Any]]:
    data = tomllib.loads((DATA / "pumps.toml").read_text(encoding="utf-8"))
    return {p["model"]: p for p in data["pump"]}


def test_the_prometra_reserve_is_the_programmers_refill_rule_not_a_pump_alarm() -> None:
    for model in ("prometra-ii-20", "prometra-ii-40"):
        reserve = _pumps()[model]["low_reservoir_alarm"]
        assert reserve["value"] == "3.0 mL"
        assert reserve["source"].startswith("prometra-ptc-guide: ")
        assert "not a pump alarm" in reserve["source"]
        assert "Date of Next Refill" in reserve["source"]


def test_the_cadd_solis_accuracy_is_unverified_at_intrathecal_rates() -> None:
    accuracy = _pumps()["cadd-solis"]["accuracy_percent"]
    assert accuracy["verified"] is False
    assert "not tested at intrathecal rates" in accuracy["source"]
    assert "not tested below 10 mL/hr" in accuracy["source"]


def test_source_constants_in_code_start_with_listed_keys() -> None:
    from painpump.core import baclofen, opioids, outcomes, refill, scheduling, spasticity, volumes
    from painpump.web.views import library

    known = listed_keys("sources.md") | listed_keys("design-rules.md")
    constants = {
        "baclofen.LABEL_SCREENING": baclofen.LABEL_SCREENING,
        "baclofen.SMALL_PATIENT_SOURCE": baclofen.SMALL_PATIENT_SOURCE,
        "baclofen.START_SOURCE": baclofen.START_SOURCE,
        "opioids.FROM_INTRATHECAL_SOURCE": opioids.FROM_INTRATHECAL_SOURCE,
        "outcomes.ASHWORTH_SOURCE": outcomes.ASHWORTH_SOURCE,
        "refill.MARGIN_SOURCE": refill.MARGIN_SOURCE,
        "refill.BOLUS_RULE_SOURCE": refill.BOLUS_RULE_SOURCE,
        "refill.EMPTY_SOURCE": refill.EMPTY_SOURCE + ":",
        "refill.ADVERSE_ACCURACY_SOURCE": refill.ADVERSE_ACCURACY_SOURCE,
        "scheduling.REFILL_BY_SOURCE": scheduling.REFILL_BY_SOURCE,
        "scheduling.BACLOFEN_SOURCE": scheduling.BACLOFEN_SOURCE,
        "spasticity.ORIGIN_SOURCE": spasticity.ORIGIN_SOURCE,
        "volumes.PRIMING_WARNING_SOURCE": volumes.PRIMING_WARNING_SOURCE,
        "volumes.BRIDGE_SOURCE": volumes.BRIDGE_SOURCE,
        "library.MRI_SOURCE": library.MRI_SOURCE,
    }
    for name, text in constants.items():
        cited = CITED.match(text)
        assert cited, f"{name} does not start with a key: {text!r}"
        unknown = set(cited.group(1).split(", ")) - known
        assert not unknown, f"{name}: {sorted(unknown)} not in docs"
