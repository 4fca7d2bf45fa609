"""OrgSettings: the defaults in one place, tolerant reading of what an organization stored, the zone, the
stored map's round trip, the Caller's copy, and a guard that settings are read only through it."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import permissions
from core.caller import Caller, caller_of
from core.models import _zones
from core.org_settings import DEFAULT_TIME_ZONE, DEFAULTS, OrgSettings
from org.models import OrgSettings as OrgSettingsReply
from org.models import OrgSettingsUpdate

pytestmark = pytest.mark.unit

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"

EXPECTED_DEFAULTS: dict[str, Any] = {
    "stages": [
        "new",
        "contacted",
        "qualified",
        "site-visit-scheduled",
        "site-visit-done",
        "negotiation",
        "booked",
        "lost",
    ],
    "sources": [
        "walk-in",
        "website",
        "referral",
        "channel-partner",
        "99acres",
        "magicbricks",
        "housing",
        "facebook",
        "google",
        "whatsapp",
        "call",
        "import",
        "other",
    ],
    "configurations": [
        "1RK",
        "1BHK",
        "2BHK",
        "2.5BHK",
        "3BHK",
        "3.5BHK",
        "4BHK",
        "5BHK",
        "villa",
        "plot",
        "commercial",
    ],
    "rolePermissions": {},
    "phoneMasking": False,
    "callRecording": False,
    "timeZone": "Asia/Kolkata",
    "defaultCountryCode": "+91",
    "visitStageMoves": True,
}

# A valid stored value different from the default, per key.
OVERRIDES: dict[str, Any] = {
    "stages": ["fresh", "won"],
    "sources": ["billboard"],
    "configurations": ["penthouse", "2BHK"],
    "rolePermissions": {"agent": {"leads.export": True}, "manager": {"leads.delete": False}},
    "phoneMasking": True,
    "callRecording": True,
    "timeZone": "America/New_York",
    "defaultCountryCode": "+971",
    "visitStageMoves": False,
}

# Stored values of the wrong type or shape, per key: each reads as the default.
BAD: dict[str, list[Any]] = {
    "stages": [None, "new", [], ["new", ""], ["new", 3], {"new": 1}, 7],
    "sources": [None, "website", [], [None], 1.5],
    "configurations": [None, "2BHK", [], [["2BHK"]]],
    "rolePermissions": [None, "agent", [], 3, True],
    "callRecording": [None, "yes", 1, 0, [], {}],
    "timeZone": [None, "", "Mars/Olympus", "America", "/etc/localtime", "../../etc/passwd", "a\x00b", "x" * 65, 5],
    "defaultCountryCode": [None, "", "91", "+", "+1234", "+9a", " +91", 91],
    "visitStageMoves": [None, "false", 0, 1, []],
}

FIELD_OF = {
    "stages": "stages",
    "sources": "sources",
    "configurations": "configurations",
    "rolePermissions": "role_permissions",
    "phoneMasking": "phone_masking",
    "callRecording": "call_recording",
    "timeZone": "time_zone",
    "defaultCountryCode": "default_country_code",
    "visitStageMoves": "visit_stage_moves",
}


@pytest.mark.parametrize("org", [None, {}, {"settings": None}, {"settings": {}}, {"settings": "x"}, "not a map"])
def test_an_organization_without_settings_has_the_defaults(org: Any) -> None:
    assert OrgSettings.of(org) == DEFAULTS
    assert OrgSettings.of(org).as_document() == EXPECTED_DEFAULTS
    assert OrgSettings.of(org).zone == ZoneInfo("Asia/Kolkata")


def test_every_key_has_a_default_an_override_a_field_and_a_bad_value_table() -> None:
    # A setting added to OrgSettings without its rows here fails: the tables below then cover it.
    keys = set(DEFAULTS.as_document())
    assert keys == set(EXPECTED_DEFAULTS) == set(OVERRIDES) == set(FIELD_OF)
    assert set(BAD) | {"phoneMasking"} == keys  # phoneMasking fails closed instead: see its own test
    assert set(FIELD_OF.values()) == {f.name for f in dataclasses.fields(OrgSettings)}


def test_the_api_models_and_the_stored_map_name_the_same_settings() -> None:
    reply = {field.alias or name for name, field in OrgSettingsReply.model_fields.items()} - {"version"}
    patch = {field.alias or name for name, field in OrgSettingsUpdate.model_fields.items()}
    assert reply == set(DEFAULTS.as_document())
    assert patch <= set(DEFAULTS.as_document())


@pytest.mark.parametrize("key", sorted(OVERRIDES))
def test_a_stored_value_overrides_its_default_and_only_it(key: str) -> None:
    read = OrgSettings.of({"settings": {key: OVERRIDES[key]}}).as_document()
    assert read == EXPECTED_DEFAULTS | {key: OVERRIDES[key]}


def test_all_overrides_together_read_back_and_the_zone_follows() -> None:
    read = OrgSettings.of({"settings": OVERRIDES})
    assert read.as_document() == OVERRIDES
    assert read.zone == ZoneInfo("America/New_York")
    assert read.stages == ("fresh", "won")


@pytest.mark.parametrize(("key", "value"), [(key, value) for key, values in BAD.items() for value in values])
def test_a_bad_stored_value_reads_as_its_default(key: str, value: Any) -> None:
    read = OrgSettings.of({"settings": {**OVERRIDES, key: value}})
    assert read.as_document() == OVERRIDES | {key: EXPECTED_DEFAULTS[key]}


@pytest.mark.parametrize(
    ("stored", "masks"),
    [(True, True), (False, False), (None, False), (1, True), ("true", True), ("false", True), (0, False), ("", False)],
)
def test_phone_masking_fails_closed_on_a_stored_truthy_non_bool(stored: Any, masks: bool) -> None:
    # A wrong guess of "not masked" shows agents numbers; a stored 1 or "true" was meant as "mask".
    assert OrgSettings.of({"settings": {"phoneMasking": stored}}).phone_masking is masks


@pytest.mark.parametrize(
    ("org", "kept"),
    [
        (None, {}),
        ({"settings": "x"}, {}),
        ({"settings": EXPECTED_DEFAULTS}, {}),
        ({"settings": {**OVERRIDES, "legacy": [1], "timeZone": 5}}, {"legacy": [1]}),
    ],
)
def test_untyped_keys_are_those_the_type_does_not_know(org: Any, kept: dict[str, Any]) -> None:
    assert OrgSettings.untyped(org) == kept


def test_role_permission_entries_of_the_wrong_type_are_dropped_and_the_rest_kept() -> None:
    stored = {"agent": {"leads.export": True, "leads.delete": "yes", 3: True}, "rm": "all", 7: {"x": True}}
    read = OrgSettings.of({"settings": {"rolePermissions": stored}})
    assert read.as_document()["rolePermissions"] == {"agent": {"leads.export": True}}


def test_a_zone_built_directly_that_does_not_exist_falls_back_to_the_default() -> None:
    assert OrgSettings(time_zone="Nowhere/Special").zone == ZoneInfo(DEFAULT_TIME_ZONE)
    assert DEFAULT_TIME_ZONE == "Asia/Kolkata"


def test_settings_are_immutable_and_documents_are_fresh_copies() -> None:
    read = OrgSettings.of({"settings": OVERRIDES})
    with pytest.raises(dataclasses.FrozenInstanceError):
        read.phone_masking = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        read.role_permissions["agent"] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        read.role_permissions["agent"]["leads.delete"] = True  # type: ignore[index]
    document = read.as_document()
    document["stages"].append("later")
    document["rolePermissions"]["agent"]["leads.delete"] = True
    assert read.as_document() == OVERRIDES
    stored: dict[str, Any] = {"settings": {"stages": ["a", "b"], "rolePermissions": {"agent": {"leads.export": True}}}}
    before = OrgSettings.of(stored)
    stored["settings"]["stages"].append("c")
    stored["settings"]["rolePermissions"]["agent"]["leads.export"] = False
    assert before.stages == ("a", "b") and before.role_permissions["agent"]["leads.export"] is True


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(stored=st.dictionaries(st.sampled_from(sorted(EXPECTED_DEFAULTS)) | st.text(max_size=10), JSON, max_size=12))
def test_any_stored_map_reads_without_raising_and_each_setting_is_its_value_or_its_default(
    stored: dict[str, Any],
) -> None:
    read = OrgSettings.of({"settings": stored})
    document = read.as_document()
    assert set(document) == set(EXPECTED_DEFAULTS)
    for key, value in document.items():
        if key not in {"rolePermissions", "phoneMasking"}:
            assert value == EXPECTED_DEFAULTS[key] or value == stored.get(key), key
    assert isinstance(read.zone, ZoneInfo)
    assert OrgSettings.of({"settings": document}) == read  # reading is idempotent: a rewrite changes nothing


LABEL = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)


@st.composite
def valid_settings(draw: Any) -> OrgSettings:
    """Any OrgSettings PATCH /org/settings could have stored."""
    return OrgSettings.of(
        {
            "settings": {
                "stages": draw(st.lists(LABEL, min_size=1, max_size=8, unique=True)),
                "sources": draw(st.lists(LABEL, min_size=1, max_size=8, unique=True)),
                "configurations": draw(st.lists(LABEL, min_size=1, max_size=8, unique=True)),
                "rolePermissions": draw(
                    st.dictionaries(
                        st.sampled_from(permissions.ROLES),
                        st.dictionaries(st.sampled_from(sorted(permissions.PERMISSIONS)), st.booleans(), max_size=4),
                        max_size=4,
                    )
                ),
                "phoneMasking": draw(st.booleans()),
                "callRecording": draw(st.booleans()),
                "timeZone": draw(st.sampled_from(sorted(_zones()))),
                "defaultCountryCode": "+" + str(draw(st.integers(1, 999))),
                "visitStageMoves": draw(st.booleans()),
            }
        }
    )


@settings(max_examples=150, deadline=None)
@given(value=valid_settings())
def test_the_stored_map_round_trips(value: OrgSettings) -> None:
    document = value.as_document()
    assert OrgSettings.of({"settings": document}) == value
    assert OrgSettings.of({"settings": document}).as_document() == document
    assert value.zone.key == value.time_zone


def test_a_caller_reads_its_organizations_settings_and_permissions_through_them() -> None:
    org = {"settings": {"rolePermissions": {"agent": {"leads.export": True}}, "timeZone": "Asia/Dubai"}}
    caller = caller_of("org1", "u1", {"role": "agent", "teamId": "north"}, org)
    assert caller.settings == OrgSettings.of(org) and caller.settings.zone == ZoneInfo("Asia/Dubai")
    assert caller.can("leads.export")
    assert caller.settings is caller.settings  # built once per caller
    plain = caller_of("org1", "u1", {"role": "agent"}, {"settings": {"rolePermissions": "junk"}})
    assert plain.permissions == permissions.effective("agent", None)


def test_a_caller_built_directly_computes_its_settings_on_first_use() -> None:
    caller = Caller(
        "u1", "org1", "agent", None, "U", "u@example.com", frozenset(), {"settings": {"phoneMasking": True}}
    )
    assert caller.settings.phone_masking is True and caller.settings is caller.settings
    assert caller == dataclasses.replace(caller)  # the cached copy is no field: equality is unchanged


# Settings are read only through OrgSettings: the guard covers every package, and any module added later.
ALLOWED = {
    "core/org_settings.py": "the one reader, and DEFAULT_TIME_ZONE",
    "core/settings.py": "SCHEDULE_TIME_ZONE: the platform's cron zone, not an organization's",
}


def raw_settings_reads(path: Path) -> list[str]:
    """Where a module reads an organization's `settings` map itself or writes the default zone's name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        key = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            key = node.args[0] if node.args else None
        elif isinstance(node, ast.Subscript):
            key = node.slice
        if isinstance(key, ast.Constant) and key.value == "settings":
            found.append(f"line {getattr(node, 'lineno', '?')} reads settings raw")
        if isinstance(node, ast.Constant) and node.value == DEFAULT_TIME_ZONE:
            found.append(f"line {node.lineno} names {DEFAULT_TIME_ZONE}")
    return found


def test_no_module_reads_settings_raw_or_hard_codes_the_zone() -> None:
    offenders = []
    for path in sorted(FUNCTIONS.rglob("*.py")):
        relative = path.relative_to(FUNCTIONS).as_posix()
        if relative.startswith("venv/") or relative in ALLOWED:
            continue
        offenders += [f"{relative}: {hit}" for hit in raw_settings_reads(path)]
    assert offenders == []


def test_the_guard_sees_each_kind_of_raw_read(tmp_path: Path) -> None:
    samples = [
        'zone = org.get("settings", {}).get("timeZone")',
        'zone = (org.get("settings") or {})["timeZone"]',
        'masks = org["settings"]["phoneMasking"]',
        'ZONE = "Asia/Kolkata"',
    ]
    for index, source in enumerate(samples):
        module = tmp_path / f"m{index}.py"
        module.write_text(source + "\n")
        assert raw_settings_reads(module), source
    clean = tmp_path / "clean.py"
    clean.write_text('doc = {"settings": OrgSettings().as_document()}\nnote = "e.g. Asia/Kolkata"\n')
    assert raw_settings_reads(clean) == []
