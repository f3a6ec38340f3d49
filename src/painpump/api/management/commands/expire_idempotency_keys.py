"""`painpump manage expire_idempotency_keys`: delete the idempotency keys older than 24 hours
(they are no longer replayed; run it daily, e.g. from cron, to keep the table small)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from painpump import clock
from painpump.plumbing.idempotency import KEEP, expire


class Command(BaseCommand):
    help = f"Delete the idempotency keys older than {KEEP} (they are no longer replayed)."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = expire(clock.now())
        self.stdout.write(f"{deleted} idempotency keys older than {KEEP} deleted")
