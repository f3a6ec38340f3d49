"""A stopped pump in the browser's pages (test client): the physician chooses "Stopped pump" on
the prescription form, reviews its withdrawal and long-stop warnings and the one setting that
changes (no daily dose or steps), signs with reasons; the pharmacist enters the kind again; the
nurse programs it; the chart, the dose history, the dashboard and the session PDF say the pump
is stopped since then and pumps nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.template.loader import render_to_string
from django.utils import timezone
from test_report_program_session_round3 import pdf
from test_web_prescriptions import check_url, hidden, reviewed, signed, signed_in

from clinic_fixtures import programmed_between_refills
from painpump.clinic.locale import clinic_locale
from painpump.clinic.models import Appointment, Implant, Program
from painpump.clinic.testing import baclofen, prescribed
from painpump.core import catalog
from painpump.core import prescription as rx
from painpump.core.refill import StabilityLimit
from painpump.core.units import Kind, parse
from painpump.web.templatetags.clinic_time import shown_day, shown_moment

pytestmark = pytest.mark.django_db

STOP = {
    "kind": "stopped",
    "dose": "",
    "step_0_days": "",
    "step_0_start": "",
    "step_0_dose": "",
    "step_1_days": "",
    "step_1_start": "",
    "step_1_dose": "",
    "ptm_dose": "",
    "ptm_duration": "",
    "ptm_lockout": "",
    "ptm_max_per_day": "",
    "reason": "pump pocket infection: explant planned, oral baclofen restarted",
}


def test_a_stop_is_reviewed_signed_checked_programmed_and_shown_stopped_everywhere(
    implant: Implant,
    physician: User,
    pharmacist: User,
    nurse: User,
    frozen_clock: time_machine.Traveller,
) -> None:
    client = signed_in(physician)
    form = client.get(f"/implants/{implant.id}/prescribe/").content.decode()
    assert '<option value="stopped">Stopped pump: gives nothing until another program' in form
    _, response = reviewed(client, implant, **STOP)
    page = response.content.decode()
    assert response.status_code == 200, page
    changes = page.split('data-testid="changes"')[1].split("</table>")[0]
    assert "<td>continuous</td><td>stopped pump</td>" in changes
    for wrong in ("Daily dose", "Steps mon", "mcg/day"):
        assert wrong not in changes, wrong
    assert "baclofen stops abruptly, which risks withdrawal" in page
    assert "stopped for more than 48 h risks overinfusion" in page
    reasons = {
        name: "explant planned, oral baclofen restarted"
        for name in re.findall(r'name="(override-[a-z_]+:[0-9a-f]+)"', page)
    }
    assert len(reasons) == 2
    record = signed(client, implant, **STOP, **reasons)
    assert record.program_kind == "stopped" and record.daily_dose_mcg_per_day == 0
    checker = signed_in(pharmacist)
    assert (
        "<dt>Program</dt><dd>stopped pump</dd>" in checker.get(check_url(record)).content.decode()
    )
    entries = {"concentration_0": "2 mg/mL", "kind": "stopped", "comment": "", "action": "accept"}
    running = checker.post(
        check_url(record), {**entries, "kind": "continuous", "dose": "400 mcg/day"}
    )
    assert running.status_code == 422
    assert "continuous differs from the prescription" in running.content.decode()
    checked = checker.post(check_url(record), entries)
    assert checked.status_code == 302, checked.content.decode()
    programmer = signed_in(nurse)
    opened = programmer.get(f"/implants/{implant.id}/program/").content.decode()
    done = programmer.post(
        f"/implants/{implant.id}/program/",
        {
            "version": hidden(opened, "version"),
            "reviewed": hidden(opened, "reviewed"),
            "submission": hidden(opened, "submission"),
            "action": "confirm",
        },
    )
    assert done.status_code == 302, done.content.decode()
    program = Program.objects.get(implant=implant, ended_at__isnull=True)
    assert program.rate_ml_per_day == 0 and program.prescription == record
    since = shown_moment(program.started_at, clinic_locale())
    chart = programmer.get(f"/patients/{implant.episode.patient_id}/").content.decode()
    card = chart.split('id="program"')[1].split("</section>")[0]
    assert ">Program (stopped)</h2>" in card
    assert f"stopped since {since}: pumps nothing" in card and "→ 0 mcg/day" not in card
    assert re.search(r'data-testid="program-mode">stopped pump\b', card)
    reservoir = chart.split('id="reservoir"')[1].split("</section>")[0]
    assert f"stopped since {since}</strong> (programmed stopped)" in reservoir
    assert "Low-reservoir alarm" not in reservoir
    doses = chart.split('id="doses"')[1].split("</section>")[0]
    assert f"stopped since {since}: pumps nothing" in doses
    assert "baclofen: stopped pump" in doses
    board = programmer.get("/").content.decode().split('id="stopped"')[1].split("</section>")[0]
    assert f"baclofen · programmed stopped {since}" in board and f"stopped since {since}" in board
    assert 'data-testid="long-stop"' not in board  # stopped just now, not over 48 h
    due = Implant.objects.get(id=implant.id).refill_by
    assert due is not None
    assert (
        f'its fluid is due by <span data-testid="stopped-due">{shown_day(due, clinic_locale())}'
        in board
    )
    refill_page = programmer.get(f"/implants/{implant.id}/refill/").content.decode()
    banner = refill_page.split('data-testid="prescription-stopped"')[1].split("</div>")[0]
    assert f"Prescription #{record.number} cannot be filled now: do not aspirate for it." in banner
    assert "(a stopped pump) cannot be executed by a refill" in banner
    assert "ask a physician to prescribe anew" in banner
    report = pdf(nurse, f"/programs/{program.id}/report.pdf")
    assert "Program stopped pump" in report
    assert "Mode continuous stopped pump changed" in report
    assert "Reservoir empty none: the pump is stopped since " in report
    whatif = programmer.get(f"/implants/{implant.id}/what-if/").content.decode()
    alarm = whatif.split('data-testid="current-alarm">')[1].split("</dd>")[0]
    assert alarm == "none: the pump is stopped"
    # the reviewer's case: trying it as it is showed the "hard limit" banner
    tried = programmer.get(
        f"/implants/{implant.id}/what-if/",
        {"mode": "program", "dose_or_rate": "", "volume": "20 mL", "conc_0": "2000 mcg/mL"},
    ).content.decode()
    assert "a hard limit, it cannot be overridden" not in tried
    prompt = tried.split('data-testid="whatif-prompt">')[1].split("</p>")[0]
    assert prompt == (
        f"Prescription #{record.number} stops the pump, so it gives nothing to project: type a "
        "daily dose to try a restart."
    )
    assert "No drug-library, clinic or device warning" not in tried
    # the reviewer's case: the programming page of a restart said the pump ran the old dose
    restart = parse("200 mcg/day", Kind.DOSE_RATE, "d")
    reasons = dict.fromkeys(("restart_after_stop",), "restart low after the infection healed")
    frozen_clock.shift(timedelta(hours=2))
    prescribed(
        physician,
        pharmacist,
        implant.id,
        baclofen(),
        restart,
        overrides=reasons,
        at=timezone.now() - timedelta(hours=1),
    )
    review = signed_in(nurse).get(f"/implants/{implant.id}/program/").content.decode()
    assert "at <strong>0 mcg/day</strong> (0 mL/day)" in review
    # the reviewer's case: "before" said the reservoir limits the date the chart gave stability
    before = review.split("Refill by</th>")[1].split("</td>")[0]
    assert "limited by the drug&#x27;s stability" in before
    [visit] = Appointment.objects.filter(kind="refill", status="proposed")
    assert visit.note == (
        "limited by the drug's stability; the pump is stopped: a physician prescribes anew "
        "before it can be refilled"
    )


def test_the_what_if_of_a_running_single_bolus_says_the_pump_stops_after_it(
    implant: Implant, nurse: User
) -> None:
    bolus = rx.PrescribedProgram.single_bolus(rx.single_bolus("50 mcg", "1 hour"))
    programmed_between_refills(implant.id, bolus, at=timezone.now() - timedelta(minutes=10))
    page = (
        signed_in(nurse)
        .get(
            f"/implants/{implant.id}/what-if/",
            {"mode": "program", "dose_or_rate": "", "volume": "20 mL", "conc_0": "2000 mcg/mL"},
        )
        .content.decode()
    )
    alarm = page.split('data-testid="proposed-alarm">')[1].split("</td>")[0]
    assert alarm == "none: the pump stops after the bolus"  # was a date at the forecast's end


def test_a_stopped_pump_dated_by_the_held_interval_says_so_not_stability() -> None:
    """The reviewer's case: "limited by the stability of hydromorphone: 90 days", for a drug the
    library has no stability rule for."""
    held = catalog.held_in_stopped_pump()
    stability = StabilityLimit("hydromorphone", held.rule, held.days, held.verified, held.source)
    shown = render_to_string(
        "web/chart/limited_by.html", {"p": {"limited_by": "held", "stability": stability}}
    )
    assert shown.startswith(
        "limited by the longest time a fluid with no stability rule (hydromorphone) stays in a "
        "stopped pump: 90 days from the fill"
    )
    assert "rule-clinic-setting" in shown and "not confirmed by the fact sheets" in shown


def test_the_programming_page_asks_no_nurse_for_a_reason_only_a_physician_gives(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    """The reviewer's case: while a single bolus ran, the nurse's page asked her for a reason for
    ending it, "recorded with your name", and refused it only once sent."""
    bolus = rx.PrescribedProgram.single_bolus(rx.single_bolus("50 mcg", "1 hour"))
    programmed_between_refills(implant.id, bolus, at=timezone.now() - timedelta(minutes=10))
    prescribed(
        physician,
        pharmacist,
        implant.id,
        baclofen(),
        parse("200 mcg/day", Kind.DOSE_RATE, "d"),
        overrides={"restart_after_stop": "restart low after the planned bolus"},
        at=timezone.now() - timedelta(minutes=5),
    )
    url = f"/implants/{implant.id}/program/"
    page = signed_in(nurse).get(url).content.decode()
    row = page.split('data-testid="warning-ends_single_bolus"')[1].split('<div class="warning"')[0]
    assert 'name="override-ends_single_bolus' not in row
    assert (
        "A physician's reason is needed here:</strong> ask a physician to program the pump, "
        "or program it once the single bolus has ended." in row
    )
    own = signed_in(physician).get(url).content.decode()
    assert 'data-testid="override-ends_single_bolus"' in own
