"""The role-escalation drill (painpump.devtools.security.escalation): an admin trying, through
the web app and the API, to give himself a role, approve his own requests, and read a patient's
chart or identity (the audit log and its filters too) gets nowhere."""

from __future__ import annotations

from painpump.devtools.security import escalation


def test_an_admin_reaches_no_patient_record_by_any_way_the_drill_tries() -> None:
    report = escalation.drill(full=False)
    assert report.problems == []
    assert report.figures["admin_roles"] == ["admin"]
    answers = report.figures["answers"]
    assert report.figures["attempts"] == len(answers) >= 15
    assert answers["web: own roles"] == answers["api: own roles"] == "422"
    assert answers["api: the patient"] == answers["web: the chart"] == "403"
