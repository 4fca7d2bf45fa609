"""What the rules matrix checked, printed at the end of the run whatever pytest's capture settings."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Cell:
    """One caller against one row: what the rules did and what the row expects."""

    allowed: bool | None  # None: the emulator's reply proved nothing (an error)
    expected: bool
    note: str = ""

    @property
    def ok(self) -> bool:
        """True when the rules did what the row expects (and a write changed exactly what it should)."""
        return self.allowed == self.expected and not self.note

    def mark(self) -> str:
        """allow / deny, flagged when wrong."""
        text = {True: "allow", False: "deny", None: "ERROR"}[self.allowed]
        return text if self.ok else f"{text}!"


@dataclass
class Report:
    """Rows in declaration order, each with its cells by caller key."""

    columns: list[tuple[str, str]] = field(default_factory=list)
    rows: dict[int, tuple[str, str, str, dict[str, Cell]]] = field(default_factory=dict)
    warnings: list[str] | None = None
    legend: str = ""

    def lines(self) -> list[str]:
        """The matrix as text: one line per row, one column per caller."""
        if not self.rows:
            return []
        keys = [key for key, _ in self.columns]
        widths = [max(len(key), 6) for key in keys]
        out = ["callers: " + "; ".join(f"{key} = {label}" for key, label in self.columns)]
        if self.legend:
            out.append(self.legend)
        out.append("cells: allow / deny as the rules answered; '!' marks a cell that differs from the expectation")
        header = f"{'collection':20} {'op':6} " + " ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True))
        out.append(header + "  target")
        for index in sorted(self.rows):
            collection, operation, target, cells = self.rows[index]
            marks = " ".join(
                (cells[k].mark() if k in cells else "-").ljust(w) for k, w in zip(keys, widths, strict=True)
            )
            out.append(f"{collection:20} {operation:6} {marks}  {target}")
        cells_all = [cell for *_, cells in self.rows.values() for cell in cells.values()]
        wrong = [cell for cell in cells_all if not cell.ok]
        allowed = sum(1 for cell in cells_all if cell.allowed)
        out.append(
            f"{len(self.rows)} rows x {len(keys)} callers = {len(cells_all)} cells checked: "
            f"{allowed} allowed, {len(cells_all) - allowed} denied, {len(wrong)} not as expected"
        )
        if self.warnings is not None:
            out.append(f"rules compiler warnings: {len(self.warnings)}" + "".join(f"\n  {w}" for w in self.warnings))
        return out


REPORT = Report()
