"""The readback page beyond the prescription (rule-readback): after a refill that ran a bridge or
a priming bolus it asks what the programmer shows of it (and only then), a difference stops the
session and names it; between refills the reservoir is compared with the pump's twin within the
clinic's tolerance, which the page states, and a wrong one names the twin's volume, the
tolerance and its source."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.template import Context, Template
from django.test import Client

from clinic_fixtures import PRIMING_REASONS, primed_half, titrated
from painpump import clock
from painpump.clinic.actions import refills, settings_service
from painpump.clinic.models import Implant, Incident, Program, Readback
from painpump.clinic.reads.readback_expected import expected_reservoir
from painpump.clinic.testing import baclofen
from painpump.core.units import Kind, parse
from report_scenario import DAY_60, changed_concentration

pytestmark = pytest.mark.django_db

TOLD = "± 0.1 mL (the clinic's readback tolerance, unverified: rule-clinic-setting)"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url_of(program: Program) -> str:
    return f"/programs/{program.id}/readback/"


def entries(**changes: str) -> dict[str, str]:
    """The programmer after the day-60 refill: 18 mL of half the concentration, 400 mcg/day."""
    return {
        "reservoir": "18 mL",
        "drug": "baclofen",
        "concentration": "1000 mcg/mL",
        "kind": "continuous",
        "dose": "400 mcg/day",
        **changes,
    }


def page_of(client: Client, program: Program) -> str:
    return unescape(client.get(url_of(program)).content.decode())


def test_after_a_bridged_refill_a_wrong_bridge_rate_stops_the_session(
    implant: Implant, nurse: User
) -> None:
    program = changed_concentration(nurse, implant).program
    client = signed_in(nurse)
    page = page_of(client, program)
    assert "The bridge the refill ran" in page and "Bridge rate" in page
    wrong = entries(fluid_change_volume="0.25 mL", fluid_change_rate="0.4 mL/day")
    assert client.post(url_of(program), wrong).status_code == 302
    page = page_of(client, program)
    assert "Session stopped: readback differs" in page
    assert (
        "fluid_change.rate: read back 0.4 mL/day, prescribed 0.2 mL/day, the bridge the refill ran"
        in page
    )
    assert "fluid_change.rate" in Incident.objects.get().summary


def test_after_a_bridged_refill_the_bridge_read_back_completes_the_session(
    implant: Implant, nurse: User
) -> None:
    program = changed_concentration(nurse, implant).program
    client = signed_in(nurse)
    right = entries(fluid_change_volume="0.25 mL", fluid_change_rate="0.2 mL/day")
    assert client.post(url_of(program), right).status_code == 302
    assert "Session complete" in page_of(client, program)
    assert Readback.objects.get().entered["fluid_change"] == {
        "kind": "bridge",
        "volume": "0.25 mL",
        "rate": "0.2 mL/day",
    }
    assert not Incident.objects.exists()


def test_a_bridge_read_back_with_its_volume_alone_is_refused_and_nothing_recorded(
    implant: Implant, nurse: User
) -> None:
    program = changed_concentration(nurse, implant).program
    sent = signed_in(nurse).post(url_of(program), entries(fluid_change_volume="0.25 mL"))
    assert sent.status_code == 422
    assert "enter the bridge's volume and rate, or neither" in unescape(sent.content.decode())
    assert not Readback.objects.exists()


def primed(implant: Implant, physician: User, pharmacist: User, nurse: User) -> Program:
    """The day-60 refill of half the concentration with a priming bolus of a 0.1 mL path."""
    primed_half(physician, pharmacist, implant.id, at=DAY_60 - timedelta(hours=1))
    refill = refills.perform_refill(
        physician,  # who runs a push above the largest single bolus (rule-physician-priming-push)
        implant.id,
        idempotency_key="primed",
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=baclofen("1000 mcg/mL"),
        overrides=PRIMING_REASONS,  # acknowledged again at the fill
    )
    return refill.program


def test_after_a_priming_bolus_the_page_asks_its_volume_and_a_wrong_one_stops_the_session(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    program = primed(implant, physician, pharmacist, nurse)
    client = signed_in(nurse)
    page = page_of(client, program)
    assert "The priming bolus the refill ran" in page and "Priming bolus volume" in page
    assert "Bridge rate" not in page
    assert "less the priming bolus as it draws" in page
    wrong = entries(reservoir="20 mL", fluid_change_volume="1 mL")
    assert client.post(url_of(program), wrong).status_code == 302
    page = page_of(client, program)
    assert "Session stopped: readback differs" in page
    assert "fluid_change.volume: read back 1 mL, prescribed 0.1 mL, the priming bolus" in page


def test_after_a_priming_bolus_the_reservoir_it_drew_completes_the_session(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    program = primed(implant, physician, pharmacist, nurse)
    client = signed_in(nurse)
    drawn = entries(reservoir="19.9 mL", fluid_change_volume="0.1 mL")
    assert client.post(url_of(program), drawn).status_code == 302
    assert "Session complete" in page_of(client, program)
    assert not Incident.objects.exists()


def titration(physician: User, implant: Implant, nurse: User) -> Program:
    """420 mcg/day programmed by the nurse an hour ago, between refills."""
    dose = parse("420 mcg/day", Kind.DOSE_RATE, "d")
    return titrated(
        physician, implant.id, dose, at=clock.now() - timedelta(hours=1), programmer=nurse
    )


def between(reservoir: str) -> dict[str, str]:
    return entries(reservoir=reservoir, concentration="2000 mcg/mL", dose="420 mcg/day")


def test_between_refills_the_twins_reservoir_completes_the_session(
    implant: Implant, physician: User, nurse: User
) -> None:
    program = titration(physician, implant, nurse)
    client = signed_in(nurse)
    page = page_of(client, program)
    assert "The bridge" not in page and "priming bolus" not in page
    assert "between refills, the pump's twin) within ± 0.1 mL: the clinic's tolerance" in page
    twin = expected_reservoir(program, clock.now()).most
    shown = f"{twin.canonical.quantize(Decimal('0.1'))} mL"
    assert client.post(url_of(program), between(shown)).status_code == 302
    assert "Session complete" in page_of(client, program)
    assert not Incident.objects.exists()


def test_between_refills_a_wrong_reservoir_names_the_twin_and_the_tolerance(
    implant: Implant, physician: User, nurse: User
) -> None:
    program = titration(physician, implant, nurse)
    client = signed_in(nurse)
    assert client.post(url_of(program), between("8 mL")).status_code == 302
    page = page_of(client, program)
    assert "Session stopped: readback differs" in page
    found = re.search(
        r"reservoir: read back 8 mL, expected (\d+\.\d+) mL \(the pump's twin at this readback\) "
        + re.escape(TOLD),
        page,
    )
    assert found is not None, page
    assert abs(Decimal(found.group(1)) - Decimal("2.95")) < Decimal("0.01")
    assert "reservoir: entered 8 mL, expected" in Incident.objects.get().summary


def test_after_a_differing_readback_the_page_says_when_its_incident_was_opened_and_its_close(
    implant: Implant, physician: User, nurse: User
) -> None:
    program = titration(physician, implant, nurse)
    client = signed_in(nurse)
    assert client.post(url_of(program), between("8 mL")).status_code == 302
    incident = Incident.objects.get()
    opened = Template("{% load clinic_time %}{{ t|moment }}").render(
        Context({"t": incident.opened_at})
    )
    page = page_of(client, program)
    assert (
        f"An incident was opened on the patient's record ({opened}; open until a physician "
        "closes it)." in page
    )
    closed = signed_in(physician).post(
        f"/incidents/{incident.id}/close/", {"resolution": "programmer corrected, read back"}
    )
    assert closed.status_code == 302
    assert f"({opened}; closed by dr.house: programmer corrected, read back)" in page_of(
        client, program
    )


def test_the_page_states_the_tolerance_the_admin_set(
    implant: Implant, physician: User, nurse: User, admin: User
) -> None:
    settings_service.update_settings(admin, expected_version=1, readback_tolerance="0.05 mL")
    program = titration(physician, implant, nurse)
    page = page_of(signed_in(nurse), program)
    assert "between refills, the pump's twin) within ± 0.05 mL: the clinic's tolerance" in page


def test_while_a_differing_readback_is_open_the_program_card_says_the_pump_may_run_it(
    implant: Implant, physician: User, nurse: User
) -> None:
    program = titration(physician, implant, nurse)
    client = signed_in(nurse)
    chart = f"/patients/{implant.episode.patient_id}/"
    assert 'data-testid="readback-differs"' not in client.get(chart).content.decode()
    assert client.post(url_of(program), between("8 mL")).status_code == 302
    incident = Incident.objects.get()
    assert program.prescription is not None
    page = unescape(client.get(chart).content.decode())
    card = page.split('id="program"')[1].split("</section>")[0]
    # the reviewer's case: "the pump may run the read-back values" for a reservoir alone
    assert (
        f"The programmer read back differs from prescription #{program.prescription.number} "
        "in reservoir: the program read back matches; check the reservoir volume entered into "
        "the programmer and read back again." in card
    )
    assert "may run the read-back values" not in card
    assert f'href="#incident-{incident.id}"' in card and f'id="incident-{incident.id}"' in page
    signed_in(physician).post(
        f"/incidents/{incident.id}/close/", {"resolution": "programmer corrected, read back"}
    )
    assert 'data-testid="readback-differs"' not in client.get(chart).content.decode()


def test_a_differing_program_read_back_names_its_fields_and_says_to_reprogram(
    implant: Implant, physician: User, nurse: User
) -> None:
    program = titration(physician, implant, nurse)
    client = signed_in(nurse)
    wrong = {**between("8 mL"), "dose": "400 mcg/day"}
    assert client.post(url_of(program), wrong).status_code == 302
    page = unescape(client.get(f"/patients/{implant.episode.patient_id}/").content.decode())
    card = page.split('id="program"')[1].split("</section>")[0]
    assert "in reservoir, program.days.mon, program.days.tue" in card
    assert "the pump may run the read-back values; reprogram and read back again." in card
    assert "Program running" in card


def test_a_reservoir_typed_with_extra_decimals_is_printed_as_typed(
    implant: Implant, physician: User, nurse: User
) -> None:
    """The reviewer's case: 39.8999 mL compared by value but printed "entered 39.9 mL"."""
    program = titration(physician, implant, nurse)
    least = expected_reservoir(program, clock.now()).least.canonical
    twin = least.quantize(Decimal("0.1"), rounding=ROUND_FLOOR)  # below the whole range
    typed = f"{twin - Decimal('0.1001')} mL"
    assert signed_in(nurse).post(url_of(program), between(typed)).status_code == 302
    readback = Readback.objects.get()
    assert readback.entered["reservoir"] == typed
    assert readback.mismatches[0]["entered"] == typed
    assert f"reservoir: entered {typed}, expected" in Incident.objects.get().summary
