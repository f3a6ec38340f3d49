"""Test set-up: tests/ on sys.path (for reference.py and strategies.py), and a throwaway secret so
that the fail-closed settings start (scripts/test sets a random one)."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("PAINPUMP_SECRET_KEY", secrets.token_urlsafe(48))

pytest_plugins = ["clinic_fixtures"]
