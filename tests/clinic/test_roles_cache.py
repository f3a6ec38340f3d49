"""A user object reads its roles from the database once (a page checks them many times: found by
the load test, six queries for one patient chart) and again after its groups change."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from painpump.clinic.roles import Forbidden, Role, require, roles_of

pytestmark = pytest.mark.django_db


def test_roles_are_read_once_per_user_object(physician: User) -> None:
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert roles_of(physician) == {Role.PHYSICIAN}
            require(physician, "program.prescribe")
    assert len(queries) == 1


def test_a_role_removed_is_refused_at_once(physician: User) -> None:
    require(physician, "program.prescribe")
    physician.groups.remove(Group.objects.get(name=Role.PHYSICIAN.value))
    with pytest.raises(Forbidden):
        require(physician, "program.prescribe")
    assert roles_of(physician) == frozenset()


def test_a_role_added_or_replaced_counts_at_once(make_user: Callable[..., User]) -> None:
    user = make_user("new.colleague")
    assert roles_of(user) == frozenset()
    user.groups.add(Group.objects.get_or_create(name=Role.NURSE.value)[0])
    assert roles_of(user) == {Role.NURSE}
    user.groups.set([Group.objects.get_or_create(name=Role.AUDITOR.value)[0]])
    assert roles_of(user) == {Role.AUDITOR}
    user.groups.clear()
    assert roles_of(user) == frozenset()


def test_each_request_reads_the_roles_afresh(physician: User) -> None:
    assert roles_of(physician) == {Role.PHYSICIAN}
    Group.objects.get(name=Role.PHYSICIAN.value).user_set.remove(physician)
    assert roles_of(User.objects.get(id=physician.id)) == frozenset()
