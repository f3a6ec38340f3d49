"""A Refusal travels through Python's exception machinery and renders field, value, limit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace

import pytest

from painpump.core.errors import ECHO_MAX, Refusal


@contextlib.contextmanager
def _passthrough() -> Iterator[None]:
    yield


def test_refusal_raised_inside_a_generator_context_manager_keeps_its_identity() -> None:
    # Regression: contextlib assigns __traceback__ on re-raise; a frozen dataclass refused that,
    # so every refusal raised inside a Typer command became a FrozenInstanceError.
    with pytest.raises(Refusal) as caught, _passthrough():
        raise Refusal("--volume", "25 mL", "<= 20 mL")
    assert caught.value.field == "--volume"
    assert caught.value.__traceback__ is not None


def test_refusal_message_names_field_value_limit_and_source() -> None:
    refusal = Refusal("--volume", "25 mL", "<= 20 mL", "pump reservoir", "would overfill")
    assert (
        refusal.message
        == "--volume: 25 mL would overfill; limit: <= 20 mL (source: pump reservoir)"
    )
    assert refusal.as_dict()["field"] == "--volume"
    assert refusal.as_dict()["limit"] == "<= 20 mL"


def test_a_refusal_echoes_a_long_value_as_its_start_and_its_length() -> None:
    """Regression: a refill's value was echoed in full, a 2 MB answer; a refusal now keeps at
    most ECHO_MAX characters of the value and of the field (both can come from the input)."""
    refusal = Refusal("volume", "9" * 1_000_000, "below 10^12", "input rules", "is out of range")
    assert len(refusal.value) == ECHO_MAX
    assert refusal.value.startswith("999") and refusal.value.endswith("… (1000000 characters)")
    assert len(refusal.message) < 300
    keyed = Refusal("overrides[" + "x" * 500 + "]", "a reason", "a soft warning")
    assert len(keyed.field) == ECHO_MAX and keyed.as_dict()["field"] == keyed.field
    assert replace(refusal, field="Volume").value == refusal.value  # shortening twice: the same
    assert Refusal("dose", "5 mg/day", "x").value == "5 mg/day"
