"""The prescriber is told of a rejection: a physician's dashboard lists the prescriptions rejected
at the double-check (patient, pump, number, who, when, the comment) until a new prescription
takes their place, in one indexed query; the prescribe page for that pump shows the comment. The
double-check is never the prescriber's: their dashboard offers no link to it and the check page
refuses them (403, naming rule-double-check) before anything is shown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from painpump.clinic.actions import prescriptions
from painpump.clinic.models import Implant, Prescription
from painpump.clinic.reads import dashboard
from painpump.clinic.roles import Role
from painpump.clinic.testing import baclofen
from painpump.core import prescription as rx
from painpump.core.prescription_compare import CheckEntries
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

COMMENT = "the order says 420 mcg/day, the label 400: which is meant?"
PROGRAM = rx.PrescribedProgram.continuous(parse("420 mcg/day", Kind.DOSE_RATE, "dose"))


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def awaiting(physician: User, implant: Implant, hours_ago: int = 3) -> Prescription:
    return prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(baclofen().drugs, PROGRAM),
        reason="more tone in the evening",
        now=timezone.now() - timedelta(hours=hours_ago),
        expected_version=Implant.objects.get(id=implant.id).version,
    )


def rejected(physician: User, pharmacist: User, implant: Implant) -> Prescription:
    """A prescription signed three hours ago, rejected with COMMENT two hours ago."""
    record = awaiting(physician, implant)
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(baclofen().drugs, PROGRAM, None),
        accept=False,
        comment=COMMENT,
        now=timezone.now() - timedelta(hours=2),
    )
    return record


def section(page: str, testid: str) -> str:
    return unescape(page.split(f'data-testid="{testid}"')[1].split("</section>")[0])


def test_a_physicians_dashboard_lists_the_rejection_with_who_when_and_the_comment(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    record = rejected(physician, pharmacist, implant)
    page = signed_in(physician).get("/").content.decode()
    listed = section(page, "rejected")
    assert 'title="1 in all">1<' in listed
    assert "Muster, Erika" in listed and "Medtronic SynchroMed II" in listed
    assert f"#{record.number} by dr.house" in listed and ">yours<" in listed
    assert "rejected by pharma.cist" in listed and f"“{COMMENT}”" in listed
    assert f'href="/implants/{implant.id}/prescribe/"' in listed


@pytest.mark.parametrize("role", ["nurse", "pharmacist"])
def test_only_a_physician_sees_the_rejected_list(
    implant: Implant,
    physician: User,
    pharmacist: User,
    role: str,
    request: pytest.FixtureRequest,
) -> None:
    rejected(physician, pharmacist, implant)
    user = request.getfixturevalue(role)
    page = signed_in(user).get("/").content.decode()
    assert 'data-testid="rejected"' not in page and COMMENT not in unescape(page)
    assert dashboard.worklist(user, timezone.now()).rejected == []


def test_a_new_prescription_takes_the_rejected_ones_place_on_the_dashboard(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    rejected(physician, pharmacist, implant)
    awaiting(physician, implant, hours_ago=1)
    board = dashboard.worklist(physician, timezone.now())
    assert board.rejected == [] and board.totals.rejected == 0
    page = signed_in(physician).get("/").content.decode()
    assert "No prescription waits after a rejection." in page


def test_the_rejected_list_costs_one_query_and_nothing_when_empty(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    """The probe of the lists empty on most days asks for it in its one query."""
    with CaptureQueriesContext(connection) as none_rejected:
        dashboard.worklist(physician, timezone.now())
    rejected(physician, pharmacist, implant)
    with CaptureQueriesContext(connection) as one_rejected:
        [row] = dashboard.worklist(physician, timezone.now()).rejected
    assert len(one_rejected) == len(none_rejected) + 1
    assert (row.rejected_by, row.comment, row.prescribed_by) == ("pharma.cist", COMMENT, "dr.house")


def test_the_rejected_list_is_read_in_its_partial_index(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    """The list's query as the worklist sends it, planned by the database."""
    rejected(physician, pharmacist, implant)
    with CaptureQueriesContext(connection) as read:
        dashboard.worklist(physician, timezone.now())
    [sql] = [q["sql"] for q in read.captured_queries if "rejected_by" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "prescription_rejected" in plan


def test_the_prescribe_page_shows_the_rejection_comment_until_a_new_one_is_signed(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    record = rejected(physician, pharmacist, implant)
    url = f"/implants/{implant.id}/prescribe/"
    page = unescape(signed_in(physician).get(url).content.decode())
    notice = page.split('data-testid="rejected-notice"')[1].split("</div>")[0]
    assert f"Prescription #{record.number} by dr.house was rejected at the double-check" in notice
    assert "by pharma.cist" in notice and f"“{COMMENT}”" in notice
    assert f"Starting from #{record.number}, rejected by pharma.cist on" in notice
    assert "replaces #1" in notice
    awaiting(physician, implant, hours_ago=1)
    assert 'data-testid="rejected-notice"' not in signed_in(physician).get(url).content.decode()


def test_the_prescriber_is_offered_no_double_check_and_the_page_refuses_them(
    implant: Implant, physician: User, pharmacist: User, make_user: Callable[..., User]
) -> None:
    record = awaiting(physician, implant)
    own = section(signed_in(physician).get("/").content.decode(), "awaiting-check-list")
    assert "double-check</a>" not in own and 'data-testid="own-prescription"' in own
    url = f"/prescriptions/{record.id}/check/"
    refused = signed_in(physician).get(url)
    text = unescape(refused.content.decode())
    assert refused.status_code == 403
    assert "rule-double-check: never the prescriber" in text
    assert "Syringe label" not in text
    other = make_user("dr.other", Role.PHYSICIAN)
    theirs = section(signed_in(other).get("/").content.decode(), "awaiting-check-list")
    assert f'href="{url}"' in theirs
    assert signed_in(other).get(url).status_code == 200
    assert signed_in(pharmacist).get(url).status_code == 200
