"""Refusal stays immutable but can travel through Python's exception machinery."""

from __future__ import annotations

import contextlib
import dataclasses
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


def test_refusal_fields_stay_frozen() -> None:
    refusal = Refusal("--volume", "25 mL", "<= 20 mL")
    with pytest.raises(dataclasses.FrozenInstanceError):
        refusal.field = "--rate"  # type: ignore[misc]
    assert refusal.field == "--volume"
