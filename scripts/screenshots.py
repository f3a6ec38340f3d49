"""Screenshots of the web app's main pages for docs/screenshots/, taken from a freshly seeded
demo clinic: run by scripts/screenshots with the project's virtual environment.

Why a script and not a `painpump` command: it drives a browser through Playwright, which is a
test dependency (the `test` extra), not one of the product's; it writes into the repository's
docs/ folder; and a clinic installation has no use for it. It only uses what the product offers
to anyone: `painpump.clinic.demo.seed` and the `painpump serve` command.

What it does: a throwaway data directory (deleted at the end) and a random secret; the database
migrated and the demo clinic seeded for today; `painpump serve` (gunicorn) on a free loopback
port; Debian's Chromium signs in as the demo users and works through the pages as a clinician
would (a nurse refills a baclofen pump and meets a reconciliation warning, then a refill
refused by a hard limit; a physician opens the verification; ...), saving each page as a PNG.
The server is stopped at the end, also when a step fails. Which patients are shown follows from
fixed rules over the seeded clinic (see `Subjects.pick`), so a re-run on the same day gives the
same pages; on another day the demo clinic, and so the pictures, move with the date.

A browser console error (a script or style refused by the Content-Security-Policy, a failed
request) fails the run, as it fails a browser test."""

from __future__ import annotations

import argparse
import math
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from PIL import Image, ImageChops
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from painpump.chromium import CHROMIUM, FLAGS

ROOT = Path(__file__).resolve().parent.parent
DESKTOP = ViewportSize(width=1280, height=900)
TABLET = ViewportSize(width=820, height=1180)
REFUSED_ON_PURPOSE = ("status of 401", "status of 403", "status of 409", "status of 422")
"""A refused sign-in, action, stale edit or form is a page shown on purpose; Chromium still
logs its status as an error."""
LIVE = re.compile(r"/refill/live/")
LEFT_NOW = re.compile(r"^([\d.]+) mL \(filled ([\d.]+) mL")
UNDERDELIVERED = 0.25
"""The share of the volume programmed since the last fill that the nurse finds still in the
pump: beyond the +/-14.5 % accuracy of the demo's SynchroMed pumps, so the reconciliation
warns (suspected underinfusion)."""
MAX_COLOUR_ERROR = 12
"""The largest change of a colour channel (0-255) accepted when a screenshot is reduced to a
palette."""
SETTINGS_TO_CLEAR = (
    "DATABASE_URL",
    "PAINPUMP_SECRET_KEY_FILE",
    "PAINPUMP_AUDIT_KEY_FILE",
    "PAINPUMP_AUDIT_RETIRED_KEYS_FILE",
    "PAINPUMP_AUDIT_CHECKPOINTS",
    "PAINPUMP_SECURE",
    "PAINPUMP_DEBUG",
    "PAINPUMP_ALLOWED_HOSTS",
)


Login = tuple[str, str]
"""The username and password of a demo user."""


@dataclass(frozen=True)
class Subjects:
    """The records the pictures show, chosen by fixed rules from the seeded clinic."""

    chart_patient: UUID
    chart_mrn: str
    chart_implant: UUID
    refused_implant: UUID
    test_phase_episode: UUID

    @staticmethod
    def pick() -> Subjects:
        """The running baclofen pump with at least six refills that is due first (not overdue)
        for the chart, the what-if and the refill with a warning; the next such baclofen pump
        for the refill refused by a hard limit; the running test phase with the most
        assessments (then the lowest record number) for the episode page."""
        from django.db.models import Count

        from painpump.clinic.models import Episode, Implant

        today = datetime.now(UTC).date()
        baclofen = list(
            Implant.objects.filter(explanted_on=None, drug_names="baclofen", refill_by__gte=today)
            .annotate(refills_count=Count("refills"))
            .filter(refills_count__gte=6)
            .select_related("episode__patient")
            .order_by("refill_by", "episode__patient__mrn")[:2]
        )
        testing = (
            Episode.objects.filter(stage="test_phase", closed_at=None)
            .annotate(assessments_count=Count("assessments"))
            .order_by("-assessments_count", "patient__mrn")
            .first()
        )
        if len(baclofen) < 2 or testing is None:
            raise SystemExit(
                "the demo clinic has too few baclofen pumps with refills or no test phase "
                "running: seed more patients (--patients)"
            )
        first, second = baclofen
        return Subjects(
            chart_patient=first.episode.patient.id,
            chart_mrn=first.episode.patient.mrn,
            chart_implant=first.id,
            refused_implant=second.id,
            test_phase_episode=testing.id,
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(data: Path, patients: int, seed: int) -> tuple[dict[str, Login], Subjects]:
    """Migrate and seed the demo clinic in `data`; the demo logins (role -> username, password
    of the first demo user of each role) and the subjects of the pictures."""
    os.environ["PAINPUMP_DATA_DIR"] = str(data)
    os.environ["PAINPUMP_SECRET_KEY"] = secrets.token_urlsafe(48)
    os.environ["PAINPUMP_AUDIT_KEY"] = secrets.token_urlsafe(48)
    os.environ["PAINPUMP_REQUIRE_2FA"] = "0"  # the demo logins sign in with their password
    for name in SETTINGS_TO_CLEAR:
        os.environ.pop(name, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "painpump.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from painpump.clinic import demo

    call_command("migrate", interactive=False, verbosity=0)
    print(f"seeding the demo clinic: {patients} patients, seed {seed} ...", flush=True)
    report = demo.seed(patients=patients, seed=seed, today=datetime.now(UTC).date())
    logins: dict[str, Login] = {}
    for login in report.logins:
        logins.setdefault(login.role, (login.username, login.password))
    subjects = Subjects.pick()
    connections.close_all()
    return logins, subjects


@contextmanager
def serving(port: int, log: Path) -> Iterator[str]:
    """`painpump serve` on the loopback port, until the block ends (also on an error); its
    output goes to `log` (a refused form is logged there as an Unprocessable Entity)."""
    command = [
        str(Path(sys.executable).with_name("painpump")),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
        "--no-migrate",
    ]
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        server = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_until_answering(server, f"{base}/sign-in/")
            yield base
        except BaseException:
            stop(server)
            sys.stderr.write(log.read_text(encoding="utf-8", errors="replace")[-4000:])
            raise
        finally:
            stop(server)


def wait_until_answering(server: subprocess.Popen[bytes], url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"painpump serve stopped (exit {server.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"painpump serve did not answer at {url} within {seconds:.0f} s")


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's own process group (gunicorn and its workers), then SIGKILL if
    it has not stopped within 15 s."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


class Camera:
    """Browser sessions of the demo users and the pictures taken with them."""

    def __init__(self, browser: Browser, base: str, logins: dict[str, Login], out: Path) -> None:
        self.browser = browser
        self.base = base
        self.logins = logins
        self.out = out
        self.written: list[Path] = []
        self.errors: list[str] = []
        self.contexts: list[BrowserContext] = []

    def session(self, role: str, viewport: ViewportSize = DESKTOP) -> Page:
        """A new tab signed in as the demo user of `role`."""
        context = self.browser.new_context(
            viewport=viewport,
            locale="en-GB",
            timezone_id="UTC",
            reduced_motion="reduce",
        )
        context.set_default_timeout(20_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: self._console(page, m.type, m.text))
        page.on("pageerror", lambda e: self.errors.append(f"{page.url}: {e}"))
        username, password = self.logins[role]
        page.goto(f"{self.base}/sign-in/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("current-user")).to_have_text(username)
        return page

    def _console(self, page: Page, kind: str, text: str) -> None:
        if kind == "error" and not any(status in text for status in REFUSED_ON_PURPOSE):
            self.errors.append(f"{page.url}: {text}")

    def open(self, page: Page, path: str) -> None:
        page.goto(f"{self.base}{path}")
        page.wait_for_load_state("networkidle")

    def shoot(self, page: Page, name: str, *, full_page: bool = False) -> None:
        charts = page.locator("canvas")
        for index in range(charts.count()):
            canvas = charts.nth(index)
            if canvas.is_visible():
                page.wait_for_function("c => !!Chart.getChart(c)", arg=canvas.element_handle())
        page.mouse.move(0, 0)
        path = self.out / f"{name}.png"
        page.screenshot(path=path, full_page=full_page, animations="disabled", caret="hide")
        shrink(path)
        self.written.append(path)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def shrink(path: Path) -> None:
    """Rewrite the PNG with a palette of 256 colours (a page has a few thousand, mostly from
    anti-aliasing: a third of the size, the same picture to the eye). Each palette entry takes
    the exact colour of most of its pixels, so backgrounds, text and badges keep their colours;
    when some rarer pixel would still move by more than `MAX_COLOUR_ERROR`, every colour is kept.
    """
    image = Image.open(path).convert("RGB")
    palette = image.quantize(
        colors=256, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE
    )
    most: dict[int, tuple[int, tuple[int, int, int]]] = {}
    for (colour, index), count in Counter(zip(pixels(image), pixels(palette), strict=True)).items():
        if count > most.get(index, (0, colour))[0]:
            most[index] = (count, colour)
    entries = palette.getpalette() or []
    for index, (_, colour) in most.items():
        entries[3 * index : 3 * index + 3] = colour
    palette.putpalette(entries)
    error = ImageChops.difference(image, palette.convert("RGB")).getextrema()
    if max(high for _, high in error) <= MAX_COLOUR_ERROR:  # type: ignore[misc]
        palette.save(path, optimize=True)


def pixels(image: Image.Image) -> Iterable[Any]:
    """The pixel values in order (Pillow 13 renamed getdata)."""
    flattened = getattr(image, "get_flattened_data", None)
    return flattened() if flattened is not None else image.getdata()


def left(page: Page, label: str) -> None:
    """Leave an entry of the refill form (Tab) and wait for the app's answer to it."""
    with page.expect_response(LIVE):
        page.get_by_label(label, exact=label == "Concentration").press("Tab")


def higher_dose(current: str) -> str:
    """About a tenth more than the current daily dose, rounded down to 5: a typical titration
    step."""
    number, unit = current.split(" ", 1)
    return f"{math.floor(float(number) * 1.1 / 5) * 5} {unit}"


def volume(value: float) -> str:
    return f"{value:g} mL"


def take(camera: Camera, subjects: Subjects) -> None:
    """Every picture, in the order a clinic day would produce them."""
    nurse = camera.session("nurse")
    camera.open(nurse, f"/patients/{subjects.chart_patient}/")
    camera.shoot(nurse, "patient-chart", full_page=True)

    camera.open(nurse, f"/implants/{subjects.chart_implant}/what-if/")
    reading = LEFT_NOW.match(
        nurse.locator("dt", has_text="Left now")
        .locator("xpath=following-sibling::dd[1]")
        .inner_text()
    )
    assert reading, "the what-if page shows what is left in the pump"
    left_now, filled = float(reading.group(1)), float(reading.group(2))
    dose = nurse.get_by_label("Daily dose or rate")
    dose.fill(higher_dose(dose.input_value()))
    with nurse.expect_response(lambda r: "/what-if/" in r.url):
        dose.press("Tab")
    expect(nurse.get_by_test_id("proposed-alarm")).to_be_visible()
    nurse.evaluate("document.activeElement.blur()")
    camera.shoot(nurse, "what-if", full_page=True)

    # The nurse reads the expected residual from the programmer (what the pump computes), and
    # aspirates more than that: the pump delivered less than programmed.
    camera.open(nurse, f"/implants/{subjects.chart_implant}/refill/")
    expected = round(left_now, 1)
    nurse.get_by_label("Expected residual volume").fill(volume(expected))
    nurse.get_by_label("Aspirated volume").fill(
        volume(round(expected + UNDERDELIVERED * (filled - expected), 1))
    )
    left(nurse, "Aspirated volume")
    nurse.get_by_label("Lot number").fill(f"LOT-{datetime.now(UTC):%y%m}-BAC")
    nurse.get_by_label("Volume filled into the reservoir").fill(volume(filled))
    left(nurse, "Volume filled into the reservoir")
    nurse.get_by_role("button", name="Review the refill").click()
    expect(nurse.get_by_test_id("warning-reconciliation")).to_be_visible()
    nurse.locator("#review").scroll_into_view_if_needed()
    camera.shoot(nurse, "refill-review-warning", full_page=True)
    nurse.get_by_label("I have read this warning and go ahead").check()
    nurse.get_by_role("button", name="Confirm and record the refill").click()
    expect(nurse.get_by_role("heading", name="Refill recorded")).to_be_visible()

    camera.open(nurse, f"/implants/{subjects.refused_implant}/refill/")
    nurse.get_by_label("Expected residual volume").fill("3 mL")
    nurse.get_by_label("Aspirated volume").fill("3 mL")
    left(nurse, "Aspirated volume")
    nurse.get_by_label("Concentration", exact=True).fill("3000 mcg/mL")
    left(nurse, "Concentration")
    nurse.get_by_label("Lot number").fill(f"LOT-{datetime.now(UTC):%y%m}-B3")
    nurse.get_by_label("Volume filled into the reservoir").fill("20 mL")
    left(nurse, "Volume filled into the reservoir")
    nurse.get_by_role("button", name="Review the refill").click()
    expect(nurse.get_by_test_id("hard-limit").first).to_contain_text("Refused by a hard limit")
    camera.shoot(nurse, "refill-hard-limit", full_page=True)

    camera.open(nurse, "/")
    camera.shoot(nurse, "dashboard", full_page=True)
    camera.open(nurse, "/calendar/?view=week")
    camera.shoot(nurse, "calendar-week", full_page=True)

    physician = camera.session("physician")
    physician.get_by_role("link", name="Verify the refill of").first.click()
    expect(physician.get_by_role("heading", name="Verify a refill")).to_be_visible()
    camera.shoot(physician, "verification", full_page=True)
    camera.open(physician, f"/episodes/{subjects.test_phase_episode}/")
    camera.shoot(physician, "test-phase", full_page=True)

    pharmacist = camera.session("pharmacist")
    camera.open(pharmacist, "/library/")
    camera.shoot(pharmacist, "drug-library")

    auditor = camera.session("auditor", ViewportSize(width=1280, height=1400))
    camera.open(auditor, f"/audit/?patient={subjects.chart_mrn}")
    camera.shoot(auditor, "audit-log")

    tablet = camera.session("nurse", TABLET)
    camera.open(tablet, "/")
    camera.shoot(tablet, "tablet-dashboard")
    camera.open(tablet, f"/patients/{subjects.chart_patient}/")
    camera.shoot(tablet, "tablet-patient-chart")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--patients", type=int, default=120, help="patients of the demo clinic")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the demo clinic")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder for the PNGs"
    )
    arguments = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        print(f"Chromium not found at {CHROMIUM}: run scripts/chromium", file=sys.stderr)
        return 1
    out: Path = arguments.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="painpump-screenshots-") as data:
        logins, subjects = prepare(Path(data), arguments.patients, arguments.seed)
        log = Path(data) / "serve.log"
        with serving(free_port(), log) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            camera = Camera(browser, base, logins, out)
            try:
                take(camera, subjects)
            finally:
                camera.close()
                browser.close()
    for path in camera.written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    if camera.errors:
        print("the browser logged errors:", *camera.errors, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
