"""MRI instructions per pump (core.mri): each catalog behaviour gives its instructions, in order,
with the source keys of docs/sources.md; a pump with no known behaviour says to check the
labeling; baclofen adds the withdrawal watch only where the scan interrupts infusion."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from painpump.core import catalog
from painpump.core.mri import When, mri_guidance

DOCS = Path(__file__).resolve().parents[2] / "docs"
LISTED = re.compile(r"^(?:#+ |- )`([a-z0-9]+(?:-[a-z0-9]+)*)`", re.MULTILINE)


def known_keys() -> set[str]:
    return {
        key
        for name in ("sources.md", "design-rules.md")
        for key in LISTED.findall((DOCS / name).read_text(encoding="utf-8"))
    }


@pytest.mark.parametrize(
    ("model", "behaviour", "whens", "texts", "keys"),
    [
        (
            "synchromed-ii-20",
            "motor_stall",
            [When.DURING, When.AFTER],
            [
                "stalls the pump motor",
                "infusion is suspended",
                "interrogate the pump after the MRI",
                "2 to 24 hours",
                "painpump plans with 24 hour",
            ],
            ("medtronic-mri-guidelines-synchromed-ii",),
        ),
        (
            "synchromed-ii-40",
            "motor_stall",
            [When.DURING, When.AFTER],
            ["interrogate the pump after the MRI"],
            ("medtronic-mri-guidelines-synchromed-ii",),
        ),
        (
            "prometra-ii-20",
            "valve_shutoff",
            [When.BEFORE, When.DURING, When.AFTER],
            [
                "empty the reservoir before the MRI (up to 20 mL",
                "valve shuts off flow",
                "at most 0.01 mL",
                "reset it by the manual procedure",
                "refill the pump",
            ],
            ("flowonix-prometra-mri-safety-pl-21604-02", "prometra-ii-ifu"),
        ),
        (
            "prometra-ii-40",
            "valve_shutoff",
            [When.BEFORE, When.DURING, When.AFTER],
            ["up to 40 mL of drug to remove"],
            ("flowonix-prometra-mri-safety-pl-21604-02", "prometra-ii-ifu"),
        ),
        (
            "constant-flow",
            "none",
            [When.BEFORE],
            ["constant-flow pump", "check the device's MRI labeling"],
            ("rule-clinic-setting",),
        ),
        (
            "cadd-solis",
            "none",
            [When.BEFORE],
            ["an external pump", "check the device's MRI labeling"],
            ("rule-clinic-setting",),
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_each_device_kind_has_its_instructions_and_sources(
    model: str, behaviour: str, whens: list[When], texts: list[str], keys: tuple[str, ...]
) -> None:
    guidance = mri_guidance(catalog.pump(model))
    assert guidance.behaviour == behaviour
    assert [i.when for i in guidance.instructions] == whens
    written = " | ".join(i.text for i in guidance.instructions)
    for text in texts:
        assert text in written
    assert guidance.sources == keys
    assert guidance.check_labeling is (behaviour == "none")
    assert all(i.verified is (behaviour != "none") for i in guidance.instructions)


@pytest.mark.parametrize("model", sorted(catalog.pumps()))
def test_every_cited_key_is_listed_in_the_docs(model: str) -> None:
    guidance = mri_guidance(catalog.pump(model), ("baclofen",))
    assert guidance.sources
    assert set(guidance.sources) <= known_keys()
    for instruction in guidance.instructions:
        assert instruction.keys and instruction.source.startswith(instruction.keys[0])


@pytest.mark.parametrize(
    ("model", "drugs", "watched"),
    [
        ("synchromed-ii-20", ("baclofen",), {"baclofen": "interrupted by the scan"}),
        ("synchromed-ii-20", ("morphine",), {"morphine": "opioid withdrawal"}),
        ("synchromed-ii-20", ("bupivacaine",), {}),
        ("synchromed-ii-20", (), {}),
        (
            "prometra-ii-20",
            ("baclofen", "clonidine"),
            {
                "baclofen": "from emptying the pump until its refill",
                "clonidine": "rebound hypertension",
            },
        ),
        ("constant-flow", ("baclofen",), {}),  # only: check the labeling
    ],
)
def test_each_drug_whose_interruption_is_dangerous_adds_its_watch(
    model: str, drugs: tuple[str, ...], watched: dict[str, str]
) -> None:
    guidance = mri_guidance(catalog.pump(model), drugs)
    after = {
        i.text.split(":")[0]: i for i in guidance.instructions if i.text.split(":")[0] in drugs
    }
    assert set(after) == set(watched)
    for drug, words in watched.items():
        assert after[drug].when is When.AFTER
        assert words in after[drug].text
    if "baclofen" in after:
        assert after["baclofen"].keys == ("baclofen-intrathecal-openfda-label",)


def test_a_behaviour_the_module_does_not_know_asks_for_the_labeling() -> None:
    from dataclasses import replace

    pump = replace(catalog.pump("synchromed-ii-20"), mri="quench_unknown")
    guidance = mri_guidance(pump, ("baclofen",))
    assert guidance.check_labeling and guidance.behaviour == "quench_unknown"
    (only,) = guidance.instructions
    assert "'quench_unknown'" in only.text and not only.verified
