"""The programmer readback's reservoir tolerance as a clinic setting: the admin types it with its
unit, it is stored in mL and audited with the other settings (one admin keeps or narrows it; a
wider one takes a second admin: tests/clinic/test_tolerance_requests.py); core's rule refuses one
that is unitless, negative, finer than 0.001 mL or as large as the smallest pocket-fill threshold
(maino-2017), naming field, value, limit and source, and nothing changes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from painpump.clinic.actions import settings_service
from painpump.clinic.errors import Conflict
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry
from painpump.clinic.reads.readback_expected import reservoir_tolerance
from painpump.clinic.roles import Forbidden
from painpump.core.errors import Refusal
from painpump.core.units import INPUT_RULES, Q

pytestmark = pytest.mark.django_db


def test_a_new_clinic_compares_readbacks_within_painpumps_unverified_default(
    admin: User,
) -> None:
    assert clinic_settings().readback_tolerance_ml == Decimal("0.1")
    assert settings_service.snapshot(clinic_settings())["readback_tolerance"] == "0.1 mL"
    used = reservoir_tolerance()
    assert (str(used.value), used.verified) == ("0.1 mL", False)
    assert used.source.startswith("rule-clinic-setting")


@pytest.mark.parametrize(
    ("typed", "stored", "audited"),
    [
        ("0.025 mL", Decimal("0.025"), "0.025 mL"),
        ("50 uL", Decimal("0.05"), "0.05 mL"),
        (Q(Decimal("0"), "mL"), Decimal("0"), "0 mL"),
        (Q(Decimal("0.1"), "mL"), Decimal("0.1"), "0.1 mL"),
    ],
    ids=["mL", "microlitres", "zero", "kept"],
)
def test_the_admin_sets_the_tolerance_with_its_unit_stored_in_ml_and_audited(
    admin: User, typed: str | Q, stored: Decimal, audited: str
) -> None:
    before = settings_service.snapshot(clinic_settings())
    saved = settings_service.update_settings(admin, expected_version=1, readback_tolerance=typed)
    saved.refresh_from_db()
    assert (saved.readback_tolerance_ml, saved.version) == (stored, 2)
    assert str(reservoir_tolerance().value) == audited
    entry = AuditEntry.objects.get(action="settings.update")
    assert entry.actor == "ad.min" and entry.before == before
    assert entry.after is not None and entry.after["readback_tolerance"] == audited
    unchanged = set(before) - {"readback_tolerance", "version"}
    assert {name: entry.after[name] for name in unchanged} == {n: before[n] for n in unchanged}


@pytest.mark.parametrize(
    ("typed", "value", "limit", "source"),
    [
        ("1 mL", "1 mL", "< 1 mL", "maino-2017"),
        ("1000 uL", "1 mL", "< 1 mL", "maino-2017"),
        ("2 mL", "2 mL", "< 1 mL", "maino-2017"),
        ("0.0005 mL", "0.0005 mL", "whole steps of 0.001 mL", INPUT_RULES),
        (Q(Decimal("-0.1"), "mL"), "-0.1 mL", ">= 0 mL", INPUT_RULES),
        ("-0.1 mL", "'-0.1 mL'", "", INPUT_RULES),
        ("0.1", "'0.1'", "with its unit", INPUT_RULES),
        (Decimal("0.1"), "Decimal('0.1')", "a volume with its unit", INPUT_RULES),
        (None, "None", "a volume with its unit", INPUT_RULES),
        ("0.1 mg", "'0.1 mg'", "volume", INPUT_RULES),
        (Q(Decimal("100"), "mcg"), "100 mcg", "a volume", INPUT_RULES),
    ],
)
def test_a_tolerance_the_core_rule_refuses_changes_nothing(
    admin: User, typed: object, value: str, limit: str, source: str
) -> None:
    before = settings_service.snapshot(clinic_settings())
    with pytest.raises(Refusal) as refused:
        settings_service.update_settings(admin, expected_version=1, readback_tolerance=typed)
    assert refused.value.field == "readback_tolerance"
    assert refused.value.value == value
    assert limit in refused.value.limit and refused.value.source.startswith(source)
    assert settings_service.snapshot(clinic_settings()) == before
    assert not AuditEntry.objects.filter(action="settings.update").exists()


def test_only_the_admin_changes_the_tolerance_and_only_from_the_version_read(
    admin: User, physician: User, pharmacist: User
) -> None:
    for other in (physician, pharmacist):
        with pytest.raises(Forbidden):
            settings_service.update_settings(other, expected_version=1, readback_tolerance="0 mL")
    settings_service.update_settings(admin, expected_version=1, readback_tolerance="0.05 mL")
    with pytest.raises(Conflict):
        settings_service.update_settings(admin, expected_version=1, readback_tolerance="0 mL")
    assert clinic_settings().readback_tolerance_ml == Decimal("0.05")
    assert AuditEntry.objects.filter(action="settings.update").count() == 1
