"""The pure pieces of the load test, shared by its driver (painpump.devtools.load.run) and its
locust clients (painpump.devtools.load.users) and testable without locust: the profiles and the
order of their visits, a refill the clinic accepts for a pump as the API shows it, percentiles."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

PROFILES: dict[str, dict[str, int]] = {
    "dashboard": {"dashboard": 1},
    "chart": {"chart": 1, "patient": 1},
    "refill": {"refill": 1},
    "mixed": {"dashboard": 3, "chart": 4, "patient": 2, "search": 1, "refill": 1},
}
"""Visit kinds and their weights in each profile. `mixed` is a clinic's day: mostly reads (the
worklist, charts, patient look-ups and searches), about one visit in eleven a refill."""


CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
MILLILITRE = Decimal("0.001")


def weighted_cycle(weights: dict[str, int]) -> list[str]:
    """One period of a smooth weighted round robin: each kind as often as its weight, spread out
    (deterministic, so a short run visits every kind in its proportion)."""
    current = dict.fromkeys(weights, 0)
    total = sum(weights.values())
    order: list[str] = []
    for _ in range(total):
        for kind, weight in weights.items():
            current[kind] += weight
        chosen = max(current, key=lambda k: current[k])
        current[chosen] -= total
        order.append(chosen)
    return order


def parse_json(text: str) -> Any:
    """A response body with its numbers exact (Decimal), so doses and concentrations are sent
    back exactly as the server wrote them."""
    return json.loads(text, parse_float=Decimal)


def _quantity(value: dict[str, Any]) -> str:
    return f"{value['value']} {value['unit']}"


def refill_payload(implant: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A refill that the clinic accepts for the pump as read from GET /api/implants/{id}: the
    same drugs, concentrations and dose, 40 mL, the residual the program leaves by now as both
    the expected and the aspirated volume (no discrepancy), performed now (after the last
    refill)."""
    last = implant["last_refill"]
    program = implant["program"]
    filled = Decimal(str(last["volume"]["value"]))
    at = max(now, datetime.fromisoformat(last["performed_at"]) + timedelta(seconds=1))
    days = Decimal((at - datetime.fromisoformat(last["performed_at"])).total_seconds()) / 86400
    left = filled - Decimal(str(program["rate"]["value"])) * days
    residual = min(max(left, Decimal(0)), filled - MILLILITRE).quantize(MILLILITRE, ROUND_FLOOR)
    return {
        "version": implant["version"],
        "performed_at": at.isoformat(),
        "expected": f"{residual} mL",
        "aspirated": f"{residual} mL",
        "drugs": [
            {"drug": d["drug"], "concentration": _quantity(d["concentration"])}
            for d in implant["drugs"]
        ],
        "volume": "40 mL",
        "lot": "LOAD-TEST",
        "dose": _quantity(program["dose"]),
    }


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (a value that was measured)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]
