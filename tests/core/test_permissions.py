"""The permission table under any overrides an admin could save: admin-only powers never move, everything
else follows the override, and validation names exactly the entries it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import permissions
from core.permissions import ADMIN_ONLY, DEFAULTS, OVERRIDABLE, PERMISSIONS, ROLES

pytestmark = pytest.mark.unit

overrides = st.dictionaries(
    st.sampled_from([*ROLES, "boss"]),
    st.dictionaries(st.sampled_from([*PERMISSIONS, "leads.fly"]), st.booleans(), max_size=6),
    max_size=5,
)


@given(overrides)
def test_overrides_never_give_or_take_an_admin_only_power(table: dict[str, dict[str, bool]]) -> None:
    for role in ROLES:
        granted = permissions.effective(role, table)
        assert granted & ADMIN_ONLY == (ADMIN_ONLY if role == "admin" else frozenset())
        assert granted <= frozenset(PERMISSIONS)


@given(overrides)
def test_an_overridable_permission_is_what_the_override_says_or_else_the_default(
    table: dict[str, dict[str, bool]],
) -> None:
    for role in ROLES:
        granted = permissions.effective(role, table)
        for permission in OVERRIDABLE:
            wanted = table.get(role, {}).get(permission, permission in DEFAULTS[role])
            assert (permission in granted) is wanted, (role, permission)


@given(overrides)
def test_validation_names_exactly_the_unknown_and_admin_only_entries(table: dict[str, dict[str, bool]]) -> None:
    problems = permissions.validate_overrides(table)
    expected = {f"rolePermissions.{role}" for role in table if role not in ROLES} | {
        f"rolePermissions.{role}.{permission}"
        for role, entries in table.items()
        if role in ROLES
        for permission in entries
        if permission not in OVERRIDABLE
    }
    assert set(problems) == expected


@pytest.mark.parametrize("role", ROLES)
def test_without_overrides_each_role_has_its_defaults(role: str) -> None:
    assert permissions.effective(role, None) == DEFAULTS[role] == permissions.effective(role, {})


def test_an_unknown_role_has_no_default_permission() -> None:
    assert permissions.effective("boss", None) == frozenset()


def test_every_permission_is_described_and_admins_hold_them_all() -> None:
    assert all(PERMISSIONS.values()) and DEFAULTS["admin"] == frozenset(PERMISSIONS)
    assert frozenset(PERMISSIONS) >= ADMIN_ONLY and not any(ADMIN_ONLY & DEFAULTS[r] for r in ROLES if r != "admin")
