"""A Refusal travels through Python's exception machinery and renders field, value, limit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from painpump.core.errors import Refusal


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
