"""Many clients changing the same record at the same moment (threads released together by a
barrier, each with its own client and database connection), several rounds each: exactly one wins
each time, the others get 409, the record is the winner's change with one audit entry (no lost
update); a refill or a write retried at once with the same key is recorded once and every answer
carries it; a double-click on a web form records once. Runs on PostgreSQL and on SQLite (in a file
database for this module: the in-memory test database has one connection).
PAINPUMP_CONCURRENCY_ROUNDS sets the rounds (default 3)."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLite
from django.test import Client
from therapy_setup import (
    at,
    baclofen_implant,
    day_60,
    fill,
    iso,
    prescription_body,
    refill_body,
    today,
)

from clinic_fixtures import REFILL_FORM
from painpump.api.idempotency import HEADER
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import (
    AlarmReport,
    Appointment,
    AuditEntry,
    Implant,
    Patient,
    Prescription,
    Program,
    Refill,
)
from painpump.clinic.roles import Role
from painpump.clinic.testing import prescribed
from painpump.core.units import Kind, parse
from painpump.plumbing.idempotency import REPLAYED

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 6
ROUNDS = int(os.environ.get("PAINPUMP_CONCURRENCY_ROUNDS", "3"))
"""Rounds of each race (3 in the default suite; set more to hunt races for longer)."""
T = TypeVar("T")


@pytest.fixture(scope="module", autouse=True)
def shared_database(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """A test database every thread's connection sees. PostgreSQL's is; SQLite's test database is
    in memory, private to one connection, so this module works on a file copy of it."""
    with django_db_blocker.unblock():
        database = connections["default"]
        if not isinstance(database, SQLite) or not database.is_in_memory_db():
            yield
            return
        database.ensure_connection()
        memory, name = database.connection, database.settings_dict["NAME"]
        path = tmp_path_factory.mktemp("concurrency") / "db.sqlite3"
        copy = sqlite3.connect(path)
        memory.backup(copy)
        copy.close()
        database.connection = None
        database.settings_dict["NAME"] = str(path)
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            database.close()
            database.settings_dict["NAME"] = name
            database.connection = memory
            ContentType.objects.clear_cache()


def together(calls: list[Callable[[], T]]) -> list[T]:
    """Each call in its own thread, all released at once; each thread closes its connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except BaseException as failure:  # re-raised below, in the test's thread
            failures.append(failure)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


def signed_in(users: list[User]) -> list[Client]:
    clients = []
    for user in users:
        client = Client()
        client.force_login(user)
        clients.append(client)
    return clients


def team(make_user: Callable[..., User], role: Role, count: int = CLIENTS) -> list[User]:
    return [make_user(f"{role.value}.{i}", role) for i in range(count)]


def send(client: Client, method: str, url: str, body: dict[str, Any], **headers: str) -> Any:
    return getattr(client, method)(url, body, content_type="application/json", headers=headers)


def one_winner(responses: list[Any], won: int) -> Any:
    """The one response with status `won`; every other one is a 409."""
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {won: 1, 409: len(responses) - 1}, [r.content for r in responses]
    return next(r for r in responses if r.status_code == won)


def test_many_clients_changing_one_patient_one_wins_and_the_others_get_409(
    make_user: Callable[..., User], patient: Patient
) -> None:
    clients = signed_in(team(make_user, Role.NURSE))
    url = f"/api/patients/{patient.id}"
    for round_ in range(ROUNDS):
        version = Patient.objects.get(id=patient.id).version
        entries = AuditEntry.objects.filter(action="patient.update").count()
        names = [f"Name-{round_}-{i}" for i in range(CLIENTS)]
        responses = together(
            [
                partial(send, c, "patch", url, {"version": version, "family_name": name})
                for c, name in zip(clients, names, strict=True)
            ]
        )
        winner = one_winner(responses, 200).json()
        stored = Patient.objects.get(id=patient.id)
        assert stored.family_name == winner["family_name"] and stored.version == version + 1
        assert AuditEntry.objects.filter(action="patient.update").count() == entries + 1
        for refused in (r for r in responses if r.status_code == 409):
            assert refused.json()["error"]["current_version"] == version + 1


def test_many_physicians_prescribing_for_one_pump_one_wins_and_no_change_is_lost(
    make_user: Callable[..., User], users: dict[Role, User], patient: Patient
) -> None:
    implant = baclofen_implant(users[Role.PHYSICIAN], patient)
    clients = signed_in(team(make_user, Role.PHYSICIAN))
    url = f"/api/implants/{implant.id}/prescriptions"
    for _ in range(ROUNDS):
        version = Implant.objects.get(id=implant.id).version
        signed = Prescription.objects.filter(implant=implant).count()
        doses = [400 - (i + 1) for i in range(CLIENTS)]
        responses = together(
            [
                partial(
                    send,
                    c,
                    "post",
                    url,
                    prescription_body(
                        version, program={"kind": "continuous", "dose": f"{dose} mcg/day"}
                    ),
                )
                for c, dose in zip(clients, doses, strict=True)
            ]
        )
        winner = one_winner(responses, 201).json()
        newest = Prescription.objects.filter(implant=implant).latest("number")
        assert str(newest.id) == winner["id"] and newest.daily_dose_mcg_per_day == Decimal(
            winner["daily_dose"]["value"]
        )
        assert Prescription.objects.filter(implant=implant).count() == signed + 1
        assert Implant.objects.get(id=implant.id).version == version + 1


def _refill_at(round_: int, **changes: Any) -> dict[str, Any]:
    """A refill of the baclofen pump at day 60 + round (each round's pump holds the last fill
    less a day at 0.2 mL/day)."""
    left = "8 mL" if round_ == 0 else "19.8 mL"
    expected = {"value": 8 if round_ == 0 else 19.8, "unit": "mL"}
    moment = iso(day_60() + timedelta(days=round_))
    return refill_body(left, expected=expected, performed_at=moment, **changes)


def test_many_nurses_refilling_one_pump_at_its_version_record_one_refill(
    make_user: Callable[..., User], users: dict[Role, User], patient: Patient
) -> None:
    implant = baclofen_implant(users[Role.PHYSICIAN], patient)
    clients = signed_in(team(make_user, Role.NURSE))
    url = f"/api/implants/{implant.id}/refills"
    for round_ in range(ROUNDS):
        version = Implant.objects.get(id=implant.id).version
        refills = Refill.objects.filter(implant=implant).count()
        responses = together(
            [
                partial(
                    send,
                    c,
                    "post",
                    url,
                    _refill_at(round_, version=version, lot=f"NURSE-{i}"),
                    **{HEADER: f"round-{round_}-nurse-{i}"},
                )
                for i, c in enumerate(clients)
            ]
        )
        winner = one_winner(responses, 201).json()
        assert Refill.objects.filter(implant=implant).count() == refills + 1
        assert str(Refill.objects.get(idempotency_key=winner["idempotency_key"]).id) == winner["id"]
        assert AuditEntry.objects.filter(action="refill.perform").count() == refills + 1


def test_a_refill_retried_at_once_with_its_key_is_recorded_once_and_never_refused_as_out_of_order(
    users: dict[Role, User], patient: Patient
) -> None:
    implant = baclofen_implant(users[Role.PHYSICIAN], patient)
    clients = signed_in([users[Role.NURSE]] * CLIENTS)
    url = f"/api/implants/{implant.id}/refills"
    for round_ in range(ROUNDS):
        version = Implant.objects.get(id=implant.id).version
        body = _refill_at(round_, version=version)
        key = f"visit-{round_}"
        responses = together(
            [partial(send, c, "post", url, body, **{HEADER: key}) for c in clients]
        )
        assert {r.status_code for r in responses} <= {200, 201}, [r.content for r in responses]
        recorded = Refill.objects.get(idempotency_key=key)
        assert {r.json()["id"] for r in responses} == {str(recorded.id)}
        assert Refill.objects.filter(implant=implant).count() == round_ + 2  # + the first fill


def test_a_write_sent_many_times_at_once_with_one_key_is_done_once_and_replayed(
    users: dict[Role, User], patient: Patient
) -> None:
    implant = baclofen_implant(users[Role.PHYSICIAN], patient)
    clients = signed_in([users[Role.NURSE]] * CLIENTS)
    url = f"/api/implants/{implant.id}/alarms"
    for round_ in range(ROUNDS):
        moment = at(today(), 1) + timedelta(minutes=round_)
        body = {"kind": "low_reservoir", "reported_at": iso(moment)}
        key = f"alarm-{round_}"
        responses = together(
            [partial(send, c, "post", url, body, **{HEADER: key}) for c in clients]
        )
        assert {r.status_code for r in responses} == {201}, [r.content for r in responses]
        assert len({r.content for r in responses}) == 1
        assert sum(REPLAYED not in r for r in responses) == 1
        assert AlarmReport.objects.filter(implant=implant).count() == round_ + 1


def test_many_clients_moving_one_appointment_one_wins(
    make_user: Callable[..., User], users: dict[Role, User], patient: Patient
) -> None:
    baclofen_implant(users[Role.PHYSICIAN], patient)
    appointment = Appointment.objects.get(patient=patient, kind="refill")
    clients = signed_in(team(make_user, Role.NURSE))
    url = f"/api/appointments/{appointment.id}"
    statuses = ("booked", "proposed")  # done is recorded by a refill; cancelled is final
    for _ in range(ROUNDS):
        version = Appointment.objects.get(id=appointment.id).version
        responses = together(
            [
                partial(
                    send,
                    c,
                    "patch",
                    url,
                    {
                        "status": statuses[i % len(statuses)],
                        "expected_version": version,
                        "late_reason": "patient abroad until then",
                    },
                )
                for i, c in enumerate(clients)
            ]
        )
        winner = one_winner(responses, 200).json()
        stored = Appointment.objects.get(id=appointment.id)
        assert (stored.status, stored.version) == (winner["status"], version + 1)


def test_many_admins_changing_the_settings_one_wins(make_user: Callable[..., User]) -> None:
    clients = signed_in(team(make_user, Role.ADMIN))
    clinic_settings()
    for round_ in range(ROUNDS):
        version = clinic_settings().version
        margins = [1 + (round_ * CLIENTS + i) % 13 for i in range(CLIENTS)]
        responses = together(
            [
                partial(
                    send, c, "patch", "/api/settings", {"version": version, "refill_margin_days": m}
                )
                for c, m in zip(clients, margins, strict=True)
            ]
        )
        winner = one_winner(responses, 200).json()
        stored = clinic_settings()
        assert stored.refill_margin_days == winner["refill_margin_days"]
        assert stored.version == version + 1


# The web forms a clinician may click twice (a double-click, or a resubmission).
DOUBLE = 3


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def _same_session(client: Client, count: int) -> list[Client]:
    """`count` clients of one browser (its session cookie): a double-click."""
    clicks = []
    for _ in range(count):
        click = Client()
        click.cookies = client.cookies
        clicks.append(click)
    return clicks


def _reviewed_refill(client: Client, implant: Implant, left: str) -> dict[str, str]:
    url = f"/implants/{implant.id}/refill/"
    page = client.get(url).content.decode()
    data = {
        **REFILL_FORM,
        "expected": left,
        "aspirated": left,
        "version": _hidden(page, "version"),
        "idempotency_key": _hidden(page, "idempotency_key"),
        "action": "review",
    }
    review = client.post(url, data)
    assert review.status_code == 200, review.content
    return {**data, "reviewed": _hidden(review.content.decode(), "reviewed"), "action": "confirm"}


def test_a_refill_confirmed_by_a_double_click_is_recorded_once(
    users: dict[Role, User], patient: Patient
) -> None:
    implant = baclofen_implant(users[Role.PHYSICIAN], patient)
    (nurse,) = signed_in([users[Role.NURSE]])
    url = f"/implants/{implant.id}/refill/"
    for round_ in range(ROUNDS):
        data = _reviewed_refill(nurse, implant, "2 mL" if round_ == 0 else "19.9 mL")
        clicks = _same_session(nurse, DOUBLE)
        responses = together([partial(click.post, url, data) for click in clicks])
        assert {r.status_code for r in responses} == {302}, [r.content for r in responses]
        recorded = Refill.objects.get(idempotency_key=data["idempotency_key"])
        assert {r["Location"] for r in responses} == {f"/programs/{recorded.program_id}/readback/"}
        assert Refill.objects.filter(implant=implant).count() == round_ + 2


def test_two_refill_forms_confirmed_at_once_record_one_refill_and_the_other_is_a_409(
    make_user: Callable[..., User], users: dict[Role, User], patient: Patient
) -> None:
    implant = baclofen_implant(users[Role.PHYSICIAN], patient)
    nurses = signed_in(team(make_user, Role.NURSE, DOUBLE))
    url = f"/implants/{implant.id}/refill/"
    for round_ in range(ROUNDS):
        left = "2 mL" if round_ == 0 else "19.9 mL"
        forms = [_reviewed_refill(nurse, implant, left) for nurse in nurses]
        responses = together(
            [partial(n.post, url, form) for n, form in zip(nurses, forms, strict=True)]
        )
        one_winner(responses, 302)
        assert Refill.objects.filter(implant=implant).count() == round_ + 2


def _prescribed_lower(users: dict[Role, User], implant: Implant, dose: int) -> None:
    """A lower baclofen dose prescribed and double-checked: ready to program."""
    prescribed(
        users[Role.PHYSICIAN],
        users[Role.PHARMACIST],
        implant.id,
        fill("baclofen", "2000 mcg/mL"),
        parse(f"{dose} mcg/day", Kind.DOSE_RATE, "dose"),
        at=at(today(), 0),
    )


def _reviewed_programming(client: Client, url: str) -> dict[str, str]:
    """The programming page's form as reviewed (the page shows the review at once)."""
    page = client.get(url).content.decode()
    return {name: _hidden(page, name) for name in ("version", "submission", "reviewed")}


def test_a_programming_confirmed_by_a_double_click_programs_the_pump_once(
    users: dict[Role, User], patient: Patient
) -> None:
    implant = baclofen_implant(users[Role.PHYSICIAN], patient)
    (nurse,) = signed_in([users[Role.NURSE]])
    url = f"/implants/{implant.id}/program/"
    for round_ in range(ROUNDS):
        _prescribed_lower(users, implant, 380 - 5 * round_)
        confirm = _reviewed_programming(nurse, url)
        programs = Program.objects.filter(implant=implant).count()
        clicks = _same_session(nurse, DOUBLE)
        responses = together([partial(click.post, url, confirm) for click in clicks])
        assert {r.status_code for r in responses} == {302}, [r.content for r in responses]
        running = Program.objects.get(implant=implant, ended_at__isnull=True)
        assert {r["Location"] for r in responses} == {f"/programs/{running.id}/readback/"}
        assert Program.objects.filter(implant=implant).count() == programs + 1
        assert running.dose_mcg_per_day == 380 - 5 * round_


def test_two_programming_forms_confirmed_at_once_program_once_and_the_others_are_refused(
    make_user: Callable[..., User], users: dict[Role, User], patient: Patient
) -> None:
    implant = baclofen_implant(users[Role.PHYSICIAN], patient)
    nurses = signed_in(team(make_user, Role.NURSE, DOUBLE))
    url = f"/implants/{implant.id}/program/"
    for round_ in range(ROUNDS):
        _prescribed_lower(users, implant, 380 - 5 * round_)
        forms = [_reviewed_programming(nurse, url) for nurse in nurses]
        programs = Program.objects.filter(implant=implant).count()
        responses = together(
            [partial(n.post, url, form) for n, form in zip(nurses, forms, strict=True)]
        )
        # A loser that reads the pump once the winner committed finds its prescription no
        # longer ready to program (422); one that raced it finds the version moved (409).
        statuses = Counter(r.status_code for r in responses)
        assert statuses[302] == 1 and set(statuses) <= {302, 409, 422}, statuses
        assert Program.objects.filter(implant=implant).count() == programs + 1


def test_a_new_patient_registered_by_a_double_click_is_registered_once(
    users: dict[Role, User],
) -> None:
    (nurse,) = signed_in([users[Role.NURSE]])
    for round_ in range(ROUNDS):
        page = nurse.get("/patients/new/").content.decode()
        data = {
            "submission": _hidden(page, "submission"),
            "mrn": f"MRN-DOUBLE-{round_}",
            "family_name": "Doppelt",
            "given_name": "Klick",
            "birth_date": "1965-04-03",
        }
        clicks = _same_session(nurse, DOUBLE)
        responses = together([partial(click.post, "/patients/new/", data) for click in clicks])
        created = Patient.objects.get(mrn=data["mrn"])
        assert {r.status_code for r in responses} == {302}, [r.content for r in responses]
        assert {r["Location"] for r in responses} == {f"/patients/{created.id}/"}
        assert sum(r.get(REPLAYED) == "true" for r in responses) == DOUBLE - 1


def test_a_lost_uniqueness_race_on_a_web_form_is_a_409_page_not_a_500(
    users: dict[Role, User],
) -> None:
    (nurse,) = signed_in([users[Role.NURSE]])
    for round_ in range(ROUNDS):
        data = {
            "mrn": f"MRN-OLD-FORM-{round_}",
            "family_name": "Alt",
            "given_name": "Formular",
            "birth_date": "1965-04-03",
        }
        clicks = _same_session(nurse, DOUBLE)
        responses = together([partial(click.post, "/patients/new/", data) for click in clicks])
        statuses = Counter(r.status_code for r in responses)
        assert statuses[302] == 1 and set(statuses) <= {302, 409, 422}, statuses
        assert Patient.objects.filter(mrn=data["mrn"]).count() == 1


def test_an_episode_opened_twice_at_once_with_its_key_is_opened_once(
    users: dict[Role, User], patient: Patient
) -> None:
    (physician,) = signed_in([users[Role.PHYSICIAN]])
    url = f"/patients/{patient.id}/episodes/new/"
    for round_ in range(ROUNDS):
        page = physician.get(url).content.decode()
        data = {
            "key": _hidden(page, "key"),
            "indication": "stroke",
            "referred_on": (today() - timedelta(days=round_)).isoformat(),
            "injury_date": "",
        }
        clicks = _same_session(physician, DOUBLE)
        responses = together([partial(click.post, url, data) for click in clicks])
        assert {r.status_code for r in responses} == {302}, [r.content for r in responses]
        assert len({r["Location"] for r in responses}) == 1
        assert patient.episodes.count() == round_ + 1


def test_the_threads_share_the_test_database() -> None:
    """The module's premise: another thread's connection sees what this one committed."""
    User.objects.create_user("seen.by.threads")
    seen = together([User.objects.filter(username="seen.by.threads").exists])
    assert seen == [True]
