"""The drills' load: nurses refilling pumps through the REST API (each refill with its own
idempotency key, one after the other, a refill whose answer was lost retried with the same key),
and clinicians reading charts through the API and the web app. Every answer is counted by status,
and every 503 is checked to be a clean one (the JSON error or the page, with no stack trace)."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from painpump.devtools.faults.calls import Answer, Lost, call
from painpump.plumbing.unavailable import MESSAGES

PAUSE = 0.05  # seconds between tries while the service or its database is away


def unclean_503(answer: Answer, *, web: bool = False) -> str | None:
    """What is wrong with a 503 (None when it is the clean one): a web page in words, or the
    API's JSON error with its reason; never a stack trace."""
    if "Traceback" in answer.text or 'File "' in answer.text:
        return "a 503 with a stack trace"
    if not answer.retry_after:
        return "a 503 without Retry-After"
    if web:
        ok = answer.content_type.startswith("text/html") and "<h1>The database is" in answer.text
        return None if ok else f"a 503 page without its explanation: {answer.text[:200]!r}"
    try:
        error = answer.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"a 503 without the JSON error: {answer.text[:200]!r}"
    if error.get("reason") not in MESSAGES or error.get("message") != MESSAGES[error["reason"]]:
        return f"a 503 with an unknown reason: {error!r}"
    return None


def said(answer: Answer) -> str:
    """What an error answer says: the API's message or the page's alert."""
    if answer.content_type.startswith("application/json"):
        try:
            return str(answer.json()["error"]["message"])[:200]
        except (ValueError, KeyError, TypeError):
            return answer.text[:200]
    alert = re.search(r'role="alert">(.*?)<', answer.text, re.S)
    return alert.group(1).strip()[:200] if alert else answer.text[:200]


class Tally:
    """Answers by status, lost requests, and problems, shared by a drill's clients."""

    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.troubles: Counter[str] = Counter()
        self.lock = threading.Lock()

    def answer(self, kind: str, answer: Answer, *, web: bool = False) -> None:
        with self.lock:
            self.statuses[f"{kind} {answer.status}"] += 1
            if answer.status == 503:
                wrong = unclean_503(answer, web=web)
                if wrong:
                    self.troubles[f"{kind}: {wrong}"] += 1
                elif not web:
                    self.reasons[answer.json()["error"]["reason"]] += 1
            elif answer.status >= 500:
                self.troubles[f"{kind}: {answer.status} {answer.text[:120]!r}"] += 1

    def lost(self, kind: str) -> None:
        with self.lock:
            self.statuses[f"{kind} lost"] += 1

    def problem(self, text: str) -> None:
        with self.lock:
            self.troubles[text] += 1

    @property
    def problems(self) -> list[str]:
        """Each problem once, with how often it happened."""
        return [f"{text} ({n} times)" if n > 1 else text for text, n in self.troubles.items()]


STEP = timedelta(minutes=6)  # between two drill refills of a pump: a tenth of an hour


class Refiller:
    """A nurse refilling one pump through the API: refill number n is done STEP after refill
    n-1 (so each is valid: after the last one, not in the future), key drill-<pump>-<n>."""

    def __init__(self, port: int, token: str, implant: UUID, first_fill: datetime, tally: Tally):
        self.port, self.token, self.implant = port, token, implant
        self.first_fill = first_fill
        self.tally = tally
        self.next = 1
        self.pending: int | None = None  # the refill whose answer was lost or refused for now
        self.recorded: dict[str, str] = {}  # key -> refill id, as the API answered
        self.sent = 0
        self.version: tuple[int, int] | None = None  # (refill number, implant version read)

    def key(self, number: int) -> str:
        return f"drill-{self.implant}-{number}"

    def body(self, number: int, version: int) -> dict[str, Any]:
        done = self.first_fill + STEP * number
        return {
            "version": version,
            "idempotency_key": self.key(number),
            "performed_at": done.isoformat(),
            "expected": "19.5 mL",
            "aspirated": "19.5 mL",
            "drugs": [{"drug": "baclofen", "concentration": "2000 mcg/mL"}],
            "volume": "20 mL",
            "lot": f"LOT-{number}",
            "dose": "400 mcg/day",
        }

    def send(self, number: int) -> Answer:
        """Refill `number` at the implant version read before its first try (a retry sends the
        same); the failed read's answer when the version cannot be read."""
        if self.version is None or self.version[0] != number:
            read = call(self.port, "GET", f"/api/implants/{self.implant}", token=self.token)
            if read.status != 200:
                return read
            self.version = (number, int(read.json()["version"]))
        self.sent += 1
        return call(
            self.port,
            "POST",
            f"/api/implants/{self.implant}/refills",
            token=self.token,
            body=self.body(number, self.version[1]),
        )

    def run(self, stop: threading.Event, *, through_outages: bool) -> None:
        """Refill until `stop`; a lost answer ends the run (the server is gone) unless
        `through_outages`, when it is retried with the same key, as a 503 always is."""
        while not stop.is_set():
            number = self.next
            self.pending = number
            try:
                answer = self.send(number)
            except Lost:
                self.tally.lost("refill")
                if not through_outages:
                    return
                time.sleep(PAUSE)
                continue
            self.tally.answer("refill", answer)
            if answer.status in (200, 201):
                self.recorded[self.key(number)] = answer.json()["id"]
                self.pending = None
                self.next += 1
            elif answer.status == 503:
                time.sleep(PAUSE)
            else:
                self.tally.problem(f"a nurse stopped at a refill answered {answer.status}")
                return

    def retry_pending(self, recorded_id: str | None) -> str:
        """Retry the refill whose answer was lost, with its key: the refill recorded before the
        kill (200, the same id) when there was one, else a new one (201). Returns what happened."""
        assert self.pending is not None
        number = self.pending
        answer = self.send(number)
        self.tally.answer("refill retry", answer)
        expected = 200 if recorded_id else 201
        if answer.status != expected:
            self.tally.problem(
                f"retry of {self.key(number)}: {answer.status}, expected {expected} "
                f"(recorded before: {recorded_id})"
            )
            return "wrong"
        refill_id = answer.json()["id"]
        if recorded_id and refill_id != recorded_id:
            self.tally.problem(f"retry of {self.key(number)} answered another refill {refill_id}")
            return "wrong"
        self.recorded[self.key(number)] = refill_id
        self.pending = None
        self.next = number + 1
        return "found recorded" if recorded_id else "recorded now"


class Reader:
    """A clinician reading pumps through the API and the patient chart and dashboard in the web
    app, over and over, through any outage (a clean 503 is the only error allowed)."""

    def __init__(
        self, port: int, token: str, session: str, implants: list[UUID], patients: list[UUID]
    ):
        self.port, self.token, self.session = port, token, session
        self.implants, self.patients = implants, patients

    def run(self, stop: threading.Event, tally: Tally) -> None:
        turn = 0
        while not stop.is_set():
            implant = self.implants[turn % len(self.implants)]
            patient = self.patients[turn % len(self.patients)]
            asks = [
                ("read", f"/api/implants/{implant}/refills", False),
                ("page", f"/patients/{patient}/", True),
                ("page", "/", True),
            ]
            kind, path, web = asks[turn % len(asks)]
            turn += 1
            try:
                if web:
                    answer = call(self.port, "GET", path, session=self.session)
                else:
                    answer = call(self.port, "GET", path, token=self.token)
            except Lost:
                tally.lost(kind)
                time.sleep(PAUSE)
                continue
            tally.answer(kind, answer, web=web)
            if answer.status not in (200, 503) and answer.status < 500:
                tally.problem(f"{kind}: {answer.status} {said(answer)!r}")
            if answer.status == 503:
                time.sleep(PAUSE)
