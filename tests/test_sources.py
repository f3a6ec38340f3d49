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
