"""After the double-check rejects a pump's newest prescription, the physician's new form starts
from the rejected one (drugs, program kind, every flex step, the PTM settings, the phase and the
fluid change; the reason left empty), saying so at the top; signed as shown with a reason, it is
the rejected prescription again. Once a newer one is open, the form starts from that one, as
before."""

from __future__ import annotations

from datetime import timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from painpump.clinic.actions import prescriptions
from painpump.clinic.locale import clinic_locale
from painpump.clinic.models import Implant, Prescription
from painpump.clinic.reads.prescription_history import settings_of
from painpump.clinic.reads.prescriptions import as_core
from painpump.clinic.testing import baclofen
from painpump.core import prescription as rx
from painpump.core.units import Kind, parse
from painpump.web.templatetags.clinic_time import shown_moment

pytestmark = pytest.mark.django_db

REJECTED = {
    "drug": "baclofen",
    "concentration": "1000 mcg/mL",
    "kind": "flex",
    "dose": "",
    "step_0_days": "every day",
    "step_0_start": "00:00",
    "step_0_dose": "400 mcg/day",
    "step_1_days": "mon-fri",
    "step_1_start": "12:00",
    "step_1_dose": "440 mcg/day",
    "step_2_days": "sat-sun",
    "step_2_start": "18:00",
    "step_2_dose": "380 mcg/day",
    "ptm_dose": "5 mcg",
    "ptm_duration": "2 min",
    "ptm_lockout": "3 h",
    "ptm_max_per_day": "4",
    "phase": "maintenance",
    "fluid_change": "bridge",
    "reason": "more tone on working days, less on weekend evenings",
}
"""A flex program of three rows on a new concentration (bridged), patient boluses and the phase
chosen: what a physician would have to type again."""
COMMENT = "the ward's order says 420 mcg/day from noon"


class FormEntries(HTMLParser):
    """The entries a browser would send for the page's form: text and hidden inputs, the option
    each select shows, each textarea's text."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        name = found.get("name")
        if tag == "input" and name and found.get("type") in ("text", "hidden"):
            self.entries[name] = found.get("value") or ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select is not None:
            if self._select not in self.entries or "selected" in found:
                self.entries[self._select] = found.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.entries[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.entries[self._textarea] += data


def entries_of(page: str) -> dict[str, str]:
    parser = FormEntries()
    parser.feed(page.split('class="guided"')[1].split("</form>")[0])
    return parser.entries


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_url(implant: Implant) -> str:
    return f"/implants/{implant.id}/prescribe/"


def sign(client: Client, implant: Implant, entries: dict[str, str]) -> Prescription:
    """Reviews `entries` and signs them as reviewed, each warning given a reason."""
    page = client.get(form_url(implant)).content.decode()
    shown = entries_of(page)
    data = {**entries, "version": shown["version"], "submission": shown["submission"]}
    review = client.post(form_url(implant), {**data, "action": "review"})
    assert review.status_code == 200, review.content.decode()
    reviewed = entries_of(review.content.decode())
    reasons = {
        name: "the patient's own plan, discussed at the visit"
        for name in reviewed
        if name.startswith("override-")
    }
    signing = {**data, **reasons, "reviewed": reviewed["reviewed"], "action": "sign"}
    done = client.post(form_url(implant), signing)
    assert done.status_code == 302, done.content.decode()
    return Prescription.objects.filter(implant=implant).latest("number")


def rejected(physician: User, pharmacist: User, implant: Implant) -> Prescription:
    record = sign(signed_in(physician), implant, REJECTED)
    prescriptions.double_check(
        pharmacist, record.id, entries=None, accept=False, comment=COMMENT, now=timezone.now()
    )
    record.refresh_from_db()
    assert record.status == Prescription.Status.REJECTED
    return record


def test_the_form_starts_from_the_rejected_prescription_whole_but_the_reason(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    record = rejected(physician, pharmacist, implant)
    page = signed_in(physician).get(form_url(implant)).content.decode()
    entries = entries_of(page)
    expected = {name: value for name, value in REJECTED.items() if name != "reason"}
    assert {name: entries.get(name) for name in expected} == expected
    assert entries["reason"] == ""
    assert entries["step_3_days"] == entries["step_3_start"] == entries["step_3_dose"] == ""
    notice = unescape(page).split('data-testid="rejected-notice"')[1].split("</div>")[0]
    when = shown_moment(record.checks.get().checked_at, clinic_locale())
    assert f"Starting from #{record.number}, rejected by pharma.cist on {when}:" in notice
    assert f"“{COMMENT}”" in notice
    # the review still compares with the prescription in force, which the new one replaces
    assert "replaces #1" in notice


def test_the_rejected_prescription_signed_as_shown_with_a_reason_is_the_same_order(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    record = rejected(physician, pharmacist, implant)
    client = signed_in(physician)
    shown = entries_of(client.get(form_url(implant)).content.decode())
    again = sign(
        client, implant, {**shown, "reason": "as ordered, the checker's question answered"}
    )
    assert again.number == record.number + 1
    assert settings_of(as_core(again)) == settings_of(as_core(record))
    assert again.phase == "maintenance" and again.fluid_change == "bridge"


def test_once_a_newer_prescription_is_open_the_form_starts_from_it_as_before(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    rejected(physician, pharmacist, implant)
    dose = parse("420 mcg/day", Kind.DOSE_RATE, "dose")
    prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(baclofen().drugs, rx.PrescribedProgram.continuous(dose)),
        reason="420 mcg/day as the ward asked",
        now=timezone.now() + timedelta(minutes=1),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    page = signed_in(physician).get(form_url(implant)).content.decode()
    entries = entries_of(page)
    assert 'data-testid="rejected-notice"' not in page
    assert (entries["kind"], entries["concentration"], entries["dose"]) == (
        "continuous",
        "2000 mcg/mL",
        "420 mcg/day",
    )
    assert entries["step_0_dose"] == "" and entries["phase"] == ""
