"""The web app's render-time benchmark (`painpump bench-web`): the dashboard and patient charts
of the 10,000-patient data set of the clinic benchmark, served by `painpump serve` and opened in
Debian's Chromium, timed from the start of the navigation to the page's load event (server time,
transfer, parsing, scripts and the charts drawn). A development tool: it needs the test extras
(Playwright) and Chromium (scripts/chromium installs it)."""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime

from painpump.chromium import CHROMIUM, FLAGS

LOAD_TIME = "() => performance.getEntriesByType('navigation')[0].loadEventEnd"


def _figures(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"{name}: {len(times)} loads, median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, "
        f"max {ordered[-1]:.0f} ms"
    )


def main(patients: int, rounds: int, out: Callable[[str], None]) -> None:
    from painpump.devtools.bench.clinic import generate
    from painpump.devtools.bench.twin import machine
    from painpump.runtime import free_port, gunicorn_argv, setup_django, wait_for_port

    setup_django()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection, connections
    from django.db.models import Count
    from playwright.sync_api import sync_playwright

    from painpump.clinic.models import Implant, Patient

    out(f"machine: {machine()}")
    out(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    call_command("migrate", interactive=False, verbosity=0)
    if Patient.objects.count() < patients:
        username = generate(patients, 1, datetime.now(UTC).replace(microsecond=0), out)
    else:
        username = "bench.physician"
        out(f"data set: reusing {Patient.objects.count():,} patients")
    password = secrets.token_urlsafe(16)
    user = User.objects.get(username=username)
    user.set_password(password)
    user.save(update_fields=["password"])
    charts = [
        str(patient_id)
        for patient_id in Implant.objects.annotate(refills_n=Count("refills"))
        .order_by("-refills_n", "id")
        .values_list("episode__patient_id", flat=True)[:rounds]
    ]
    connections.close_all()
    port = free_port()
    # The benchmark signs in with a password alone (no authenticator app to ask for a code).
    env = os.environ | {"PAINPUMP_REQUIRE_2FA": "0"}
    server = subprocess.Popen(gunicorn_argv("127.0.0.1", port, 2, 60), env=env)
    try:
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/sign-in/")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/")
            page.goto(f"{base}/patients/{charts[0]}/")  # warm-up: catalog and units loaded
            dashboard, chart = [], []
            for patient_id in charts:
                page.goto(f"{base}/", wait_until="load")
                dashboard.append(float(page.evaluate(LOAD_TIME)))
                page.goto(f"{base}/patients/{patient_id}/", wait_until="load")
                chart.append(float(page.evaluate(LOAD_TIME)))
            browser.close()
        refills = Implant.objects.filter(episode__patient_id=charts[0]).aggregate(
            n=Count("refills")
        )
        out(_figures("dashboard page (50 rows a list)", dashboard))
        out(
            _figures(
                f"patient chart (the {len(charts)} longest histories, {refills['n']} refills "
                "in the longest)",
                chart,
            )
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
