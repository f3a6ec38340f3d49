"""Drill: the whole server (gunicorn master and workers) SIGKILLed at a random moment while
nurses refill pumps, round after round. After each kill, before the restart: every refill whole
or absent. After the restart: the service answers, and each nurse whose answer was lost retries
with the same key and gets the refill recorded before the kill (200, same id) or, when none
was, a new one (201), never a second."""

from __future__ import annotations

import threading
import time
from collections import Counter
from functools import partial

from painpump.devtools.faults import checks
from painpump.devtools.faults.common import Setting, check_whole, started
from painpump.devtools.faults.report import Report

KILL_AFTER = (0.2, 1.2)  # seconds of refilling before the kill, drawn at random


def run(setting: Setting) -> Report:
    report = Report("sigkill", setting.database)
    clinic, server, nurses = setting.clinic, setting.server, setting.nurses
    start = checks.baseline(clinic.implants)
    tally = setting.tally()
    sent = sum(n.sent for n in nurses)
    recoveries: list[float] = []
    in_flight: Counter[str] = Counter()
    for _ in range(setting.rounds):
        stop = threading.Event()
        threads = started(partial(n.run, stop, through_outages=False) for n in nurses)
        time.sleep(setting.rng.uniform(*KILL_AFTER))
        killed = time.monotonic()
        server.kill()
        stop.set()
        for thread in threads:
            thread.join()
        check_whole(report, setting, start)
        lost = [nurse for nurse in nurses if nurse.pending is not None]
        before = {nurse.implant: checks.recorded(nurse.key(nurse.pending or 0)) for nurse in lost}
        server.start()
        setting.ready()
        recoveries.append(time.monotonic() - killed)
        for nurse in lost:
            in_flight["answer lost"] += 1
            in_flight[nurse.retry_pending(before[nurse.implant])] += 1
    check_whole(report, setting, start)
    report.problems += tally.problems
    report.figures.update(
        rounds=setting.rounds,
        kills=setting.rounds,
        nurses=len(nurses),
        refills_sent=sum(n.sent for n in nurses) - sent,
        refills_recorded=len(checks.keys_recorded(clinic.implants)),
    )
    report.count("answers", tally.statuses)
    report.count("retried_with_the_same_key", in_flight)
    report.times("kill_to_answering_s", recoveries)
    return report
