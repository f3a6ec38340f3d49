"""Drill: PostgreSQL (the drills' own cluster) stopped the quick way and started again, round
after round, while nurses refill pumps and clinicians read charts (API and web pages). During
each outage every answer must be a clean 503 (the JSON error or the page), never a 500 or a
stack trace; once PostgreSQL is back the same server (never restarted) answers again, every
nurse's refill goes through (a retry of a refill whose answer was lost finds it recorded), and
every refill is whole."""

from __future__ import annotations

import threading
import time
from functools import partial

from painpump.devtools.faults import checks, postgres
from painpump.devtools.faults.common import (
    Setting,
    answers,
    check_whole,
    started,
    tracebacks,
    wait_for,
)
from painpump.devtools.faults.report import Report
from painpump.devtools.faults.workload import Reader, Refiller

READERS = 2
DOWN_FOR = (0.5, 1.5)  # seconds PostgreSQL stays down, drawn at random
LOAD_BETWEEN = (0.5, 1.0)  # seconds of normal service between outages
RECOVERY = 30.0  # seconds the service has to answer and refill again once PostgreSQL is up


def _each_refilled(marks: list[tuple[Refiller, int]]) -> bool:
    """True once every nurse has recorded a refill past the one she was at."""
    return all(nurse.next > at for nurse, at in marks)


def run(setting: Setting) -> Report:
    report = Report("postgres-restart", setting.database)
    clinic, server, nurses = setting.clinic, setting.server, setting.nurses
    start = checks.baseline(clinic.implants)
    tally = setting.tally()
    sent, starts = sum(n.sent for n in nurses), server.starts
    traces = tracebacks(server.log_text())
    reader = Reader(
        server.port, clinic.token, clinic.session, list(clinic.implants), list(clinic.patients)
    )
    stop = threading.Event()
    threads = started(
        [partial(n.run, stop, through_outages=True) for n in nurses]
        + [partial(reader.run, stop, tally) for _ in range(READERS)]
    )
    time.sleep(setting.rng.uniform(*LOAD_BETWEEN))
    outages: list[float] = []
    answering: list[float] = []
    writing: list[float] = []
    try:
        for _ in range(setting.restarts):
            down = time.monotonic()
            postgres.stop()
            time.sleep(setting.rng.uniform(*DOWN_FOR))
            postgres.start()
            up = time.monotonic()
            outages.append(up - down)
            back = partial(answers, server.port, clinic.token)
            answering.append(wait_for(back, "an answer", RECOVERY))
            marks = [(n, n.next) for n in nurses]
            wait_for(partial(_each_refilled, marks), "a refill by every nurse", RECOVERY)
            writing.append(time.monotonic() - up)
            time.sleep(setting.rng.uniform(*LOAD_BETWEEN))
    except RuntimeError as error:  # the service did not recover: say so, with what it answered
        report.problems.append(str(error))
    stop.set()
    for thread in threads:
        thread.join()
    check_whole(report, setting, start)
    report.problems += tally.problems
    if server.starts != starts or not server.running:
        report.problems.append("the server had to be restarted")
    lost = sum(n for status, n in tally.statuses.items() if status.endswith(" lost"))
    if lost:
        report.problems.append(f"{lost} requests got no answer at all (not even a 503)")
    if not tally.reasons:
        report.problems.append("no request met an outage: the drill proved nothing")
    traces = tracebacks(server.log_text()) - traces
    if traces:
        report.problems.append(f"the server logged {traces} stack traces")
    report.figures.update(
        restarts=setting.restarts,
        server_restarts=server.starts - starts,
        refills_sent=sum(n.sent for n in nurses) - sent,
        refills_recorded=len(checks.keys_recorded(clinic.implants)),
        tracebacks_logged=traces,
    )
    report.count("answers", tally.statuses)
    report.count("reasons_of_503", tally.reasons)
    report.times("postgres_down_s", outages)
    report.times("postgres_up_to_answering_s", answering)
    report.times("postgres_up_to_every_nurse_refilled_s", writing)
    return report
