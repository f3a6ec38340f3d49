"""The tamper drill (painpump.devtools.security.tamper), CI-sized: a seeded clinic whose trail
holds a few thousand entries verifies, and every tampering of issue 14's finding, each on a copy,
is caught by the control meant to catch it."""

from __future__ import annotations

from painpump.devtools.security import tamper


def test_the_tamper_drill_catches_every_tampering_of_a_small_clinic() -> None:
    report = tamper.drill(full=False)
    assert report.problems == []
    assert report.figures["entries"] == tamper.SMALL["entries"]
    assert set(report.figures["caught"]) == set(tamper.SCENARIOS)
    assert report.figures["verify_seconds"] > 0
