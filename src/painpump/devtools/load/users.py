"""The load test's clients: locust users, run headless as a library, who open the dashboard,
patient charts and pumps and record refills at an offered rate stepped phase by phase; every
response time is kept and each step's p50/p95/p99, errors and achieved rate are written as JSON.
A process of its own, because importing locust patches the standard library for gevent (so
time.sleep here yields to the other users).

Run by painpump.devtools.load.run:
`python -m painpump.devtools.load.users CONFIG.json RESULTS.json`."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import cycle
from pathlib import Path
from typing import Any

from locust import FastHttpUser, task
from locust.env import Environment

from painpump.devtools.load.plan import (
    CSRF_FIELD,
    PROFILES,
    parse_json,
    percentile,
    refill_payload,
    weighted_cycle,
)
from painpump.devtools.load.proc import CpuSnapshot, cpu_used


@dataclass
class Plan:
    """What the clients are told to do now (shared by all of them; the step driver changes it)."""

    config: dict[str, Any]
    profile: str = "dashboard"
    rate: float = 1.0
    label: str | None = None
    latencies: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    visits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    signed_in: int = 0


PLAN = Plan({})


def record_request(
    request_type: str,
    name: str,
    response_time: float,
    exception: BaseException | None = None,
    **_: Any,
) -> None:
    """Every request's time (ms) and any failure, under the step it finished in (none during a
    warm-up or a change of rate)."""
    if PLAN.label is None:
        return
    key = (PLAN.label, f"{request_type} {name}")
    PLAN.latencies[key].append(response_time)
    if exception is not None:
        PLAN.errors[key].append(str(exception)[:300])


class ClinicUser(FastHttpUser):
    """A clinician: signed in to the web app (the chart and refill pages) and holding a
    read-write API token (the REST calls). Each visit starts on a fixed pace (users / rate), so
    the offered rate holds while the server keeps up."""

    last_start = 0.0

    count = 0

    def on_start(self) -> None:
        config = PLAN.config
        self.index = ClinicUser.count
        ClinicUser.count += 1
        users = int(config["users"])
        self.bearer = {"Authorization": f"Bearer {config['token']}"}
        self.patients = cycle(config["patients"][self.index :: users] or config["patients"])
        self.implants = cycle(config["implants"][self.index :: users] or config["implants"])
        self.searches = cycle(config["searches"][self.index :: users] or config["searches"])
        self.refills = 0
        self.profile = ""
        self.kinds: cycle[str] = cycle([""])
        self._sign_in(config["username"], config["password"])
        PLAN.signed_in += 1
        self.rate = 0.0  # the first _pace spreads the users over the period

    def _sign_in(self, username: str, password: str) -> None:
        with self.client.get("/sign-in/", name="sign-in", catch_response=True) as page:
            found = CSRF_FIELD.search(page.text or "")
            if found is None:
                page.failure("the sign-in page has no CSRF token")
                raise RuntimeError("cannot sign in: no CSRF token")
        form = {"csrfmiddlewaretoken": found.group(1), "username": username, "password": password}
        with self.client.post(
            "/sign-in/", data=form, name="sign-in", allow_redirects=False, catch_response=True
        ) as answer:
            if answer.status_code != 302:
                answer.failure(f"sign-in answered {answer.status_code}")
                raise RuntimeError("cannot sign in")

    def wait_time(self) -> float:
        return 0.0  # the pace is kept by _pace, which follows a change of rate at once

    def _pace(self) -> None:
        """Wait until this user's next visit is due: one period (users / rate, the rate read
        anew every 0.1 s, so a step's new rate holds from its start) after the last one, without
        bursts to catch up more than one period when the server fell behind. When the rate
        changes, the users' visits are spread evenly over the new period again (else a longer
        period would find them all due at once)."""
        users = int(PLAN.config["users"])
        while True:
            period = users / PLAN.rate
            now = time.monotonic()
            if PLAN.rate != self.rate:  # a new step: the users spread over its period again
                self.rate = PLAN.rate
                self.last_start = now - period + period * (self.index + 0.5) / users
            due = self.last_start + period
            if now >= due:
                self.last_start = max(due, now - period)
                return
            time.sleep(min(0.1, due - now))

    @task
    def visit(self) -> None:
        self._pace()
        if PLAN.profile != self.profile:
            self.profile = PLAN.profile
            order = weighted_cycle(PROFILES[self.profile])
            shift = self.index % len(order)
            self.kinds = cycle(order[shift:] + order[:shift])
        kind = next(self.kinds)
        label = PLAN.label
        getattr(self, f"_{kind}")()
        if label is not None:
            PLAN.visits[label] += 1

    def _get(self, path: str, name: str, *, api: bool = True) -> Any:
        headers = self.bearer if api else {}
        with self.client.get(path, name=name, headers=headers, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}: {(answer.text or '')[:200]}")
                return None
            return parse_json(answer.text) if api else answer.text

    def _dashboard(self) -> None:
        self._get("/api/dashboard", "/api/dashboard")

    def _chart(self) -> None:
        self._get(f"/patients/{next(self.patients)}/", "/patients/{id}/ (chart page)", api=False)

    def _patient(self) -> None:
        self._get(f"/api/patients/{next(self.patients)}", "/api/patients/{id}")

    def _search(self) -> None:
        self._get(f"/api/patients?q={next(self.searches)}", "/api/patients?q=")

    def _refill(self) -> None:
        """A nurse's refill: the pump read, its refills, the refill page's preview, the refill
        recorded with a fresh idempotency key; every `retry_every`th is sent again with the same
        key, as a client that lost the answer would: the second answer must be 200 with the
        refill already recorded."""
        implant_id = next(self.implants)
        implant = self._get(f"/api/implants/{implant_id}", "/api/implants/{id}")
        if implant is None:
            return
        self._get(f"/api/implants/{implant_id}/refills", "/api/implants/{id}/refills")
        self._get(f"/implants/{implant_id}/refill/", "/implants/{id}/refill/ (preview)", api=False)
        payload = refill_payload(implant, datetime.now(UTC))
        key = uuid.uuid4().hex
        self.refills += 1
        first = self._post_refill(implant_id, key, payload, 201, None)
        if first is not None and self.refills % int(PLAN.config["retry_every"]) == 0:
            self._post_refill(implant_id, key, payload, 200, first)

    def _post_refill(
        self, implant_id: str, key: str, payload: dict[str, Any], status: int, same: str | None
    ) -> str | None:
        name = "/api/implants/{id}/refills" + (" (retried)" if same else "")
        headers = {**self.bearer, "Idempotency-Key": key}
        with self.client.post(
            f"/api/implants/{implant_id}/refills",
            json=payload,
            headers=headers,
            name=name,
            catch_response=True,
        ) as answer:
            if answer.status_code != status:
                answer.failure(f"{answer.status_code}: {(answer.text or '')[:300]}")
                return None
            recorded = str(parse_json(answer.text)["id"])
            if same is not None and recorded != same:
                answer.failure(f"the retry recorded a second refill {recorded} (first {same})")
            return recorded


def summarize(label: str, profile: str, rate: float, seconds: float) -> dict[str, Any]:
    """One step's figures per request name, and whether it held: every p95 under the target,
    no error, and at least 95 % of the offered visits made."""
    target = float(PLAN.config["target_ms"])
    names: dict[str, Any] = {}
    for (step, name), times in sorted(PLAN.latencies.items()):
        if step != label:
            continue
        errors = PLAN.errors.get((step, name), [])
        names[name] = {
            "requests": len(times),
            "per_second": round(len(times) / seconds, 2),
            "p50_ms": round(percentile(times, 50), 1),
            "p95_ms": round(percentile(times, 95), 1),
            "p99_ms": round(percentile(times, 99), 1),
            "max_ms": round(max(times), 1),
            "errors": len(errors),
            "first_errors": errors[:3],
        }
    visits = PLAN.visits.get(label, 0)
    held = (
        bool(names)
        and all(n["p95_ms"] < target and n["errors"] == 0 for n in names.values())
        and visits >= 0.95 * rate * seconds
    )
    return {
        "profile": profile,
        "rate": rate,
        "seconds": round(seconds, 1),
        "visits_per_second": round(visits / seconds, 2),
        "held": held,
        "requests": names,
    }


def _cpu(config: dict[str, Any], snapshots: list[CpuSnapshot]) -> None:
    """The CPU times of the server and its database now, when the config names them."""
    if "server_pid" in config:
        snapshots.append(CpuSnapshot.take(int(config["server_pid"]), str(config["database"])))


def cpu_share(used: dict[str, float], seconds: float, step: dict[str, Any]) -> dict[str, Any]:
    """Where the CPU went during a step: each part's share of all cores (%), and the server's
    and the database's CPU per request (ms), which, unlike latency, hardly depends on what the
    other tenants of a shared machine do."""
    cores = os.cpu_count() or 1
    requests = sum(r["requests"] for r in step["requests"].values()) or 1
    return {
        "cores": cores,
        "percent_of_cores": {k: round(v / seconds / cores * 100, 1) for k, v in used.items()},
        "workers_ms_per_request": round(used["workers"] / requests * 1000, 1),
        "database_ms_per_request": round(used["database"] / requests * 1000, 1),
    }


def _measure(label: str, phase: dict[str, Any], every_second: Callable[[], None]) -> float:
    """Keep measuring for the phase's `seconds`, or until it made `visits` visits (a smoke test
    whose length must not depend on the machine's speed), calling `every_second` about every
    second; returns the time it took."""
    began = time.monotonic()
    last = began - 1

    def more() -> bool:
        if "visits" in phase:
            return PLAN.visits.get(label, 0) < int(phase["visits"])
        return time.monotonic() - began < float(phase["seconds"])

    while more():
        if time.monotonic() - last >= 1:
            last = time.monotonic()
            every_second()
        time.sleep(0.05)
    return time.monotonic() - began


def run(config: dict[str, Any]) -> dict[str, Any]:
    """Every phase of the config in turn with one set of users: a warm-up at the first rate,
    then each rate for `seconds` (or `visits`) after `settle` seconds of transition; a phase
    stops at its first step that does not hold (`stop_on_fail`)."""
    PLAN.config = config
    first = config["phases"][0]
    PLAN.profile, PLAN.rate = first["profile"], float(first["rates"][0])
    environment = Environment(user_classes=[ClinicUser], host=config["host"])
    # locust's EventHook.add_listener has no annotations
    environment.events.request.add_listener(record_request)  # type: ignore[no-untyped-call]
    failures: list[str] = []
    environment.events.user_error.add_listener(  # type: ignore[no-untyped-call]
        lambda user_instance, exception, tb: failures.append(repr(exception)[:300])
    )
    runner = environment.create_local_runner()
    users = int(config["users"])
    runner.start(users, spawn_rate=users)
    steps: list[dict[str, Any]] = []
    began = time.monotonic()
    try:
        while PLAN.signed_in < users:  # each sign-in hashes the password on the server
            if failures or time.monotonic() - began > 120:
                raise RuntimeError(f"the users could not sign in: {failures}")
            time.sleep(0.2)
        for phase in config["phases"]:
            PLAN.label = None
            PLAN.profile, PLAN.rate = phase["profile"], float(phase["rates"][0])
            time.sleep(float(phase.get("warmup", 0)))
            for rate in phase["rates"]:
                PLAN.label = None
                PLAN.rate = float(rate)
                time.sleep(float(phase.get("settle", 0)))
                label = f"{phase['profile']}@{rate}"
                snapshots: list[CpuSnapshot] = []
                PLAN.label = label
                seconds = _measure(label, phase, partial(_cpu, config, snapshots))
                PLAN.label = None
                _cpu(config, snapshots)
                step = summarize(label, phase["profile"], float(rate), seconds)
                if snapshots:
                    step["cpu"] = cpu_share(cpu_used(snapshots), seconds, step)
                steps.append(step)
                print(json.dumps(step), file=sys.stderr, flush=True)
                if phase.get("stop_on_fail", True) and not step["held"]:
                    break
    finally:
        runner.quit()
    return {"steps": steps, "user_errors": failures, "seconds": round(time.monotonic() - began)}


def main(argv: list[str]) -> int:
    logging.getLogger("locust").setLevel(logging.WARNING)
    config = json.loads(Path(argv[0]).read_text())
    results = run(config)
    Path(argv[1]).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
