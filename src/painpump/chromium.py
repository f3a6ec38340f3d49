"""How painpump launches Debian's Chromium (Playwright cannot download its own browser on these
machines) for the browser tests, the screenshots and the web benchmark: one path, one flag set."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("PAINPUMP_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
