"""Rendering of command results: rich table, JSON, CSV or markdown.

A command describes its output once as a :class:`View` (a title, columns over
row dicts, note lines, and the JSON payload); the format picks how to print it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


@dataclass(frozen=True)
class Column:
    key: str  # row key; also the CSV header
    header: str  # table / markdown header
    align: str = "right"
    text: Callable[[dict], str] | None = None  # display text; default str(row[key])
    indent: bool = False  # indent by row["depth"] in the terminal table
    keep_whole: bool = False  # never squeeze or wrap it in a narrow terminal

    def display(self, row: dict, indented: bool = False) -> str:
        if self.text is not None:
            shown = self.text(row)
        else:
            value = row.get(self.key)
            shown = "" if value is None else str(value)
        return "  " * row.get("depth", 0) + shown if indented and self.indent else shown


@dataclass
class View:
    title: str
    columns: list[Column]
    rows: list[dict]
    payload: dict  # the JSON document
    notes: list[str] = field(default_factory=list)  # lines printed under the table
    row_styles: list[str] | None = None  # rich style per row, table format only
    csv_columns: list[Column] | None = None  # raw columns for CSV, when they differ from the table's


def count(n: int | float | None) -> str:
    """Exact integer with thousands separators (``102,267,648``)."""
    return "" if n is None else f"{int(n):,}"


def si(n: int | float | None) -> str:
    """Compact decimal magnitude (``11.17G``, ``589.8k``), for humans."""
    if n is None:
        return ""
    value = float(n)
    for scale, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.2f}{prefix}"
    return f"{int(value)}"


def size(n_bytes: int | None) -> str:
    """Binary size (``390.12 MiB``)."""
    if n_bytes is None:
        return ""
    value = float(n_bytes)
    for scale, prefix in ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if value >= scale:
            return f"{value / scale:.2f} {prefix}"
    return f"{int(value)} B"


def percent(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def emit(view: View, fmt: OutputFormat) -> None:
    """Print ``view`` on stdout in format ``fmt``."""
    {
        OutputFormat.json: _emit_json,
        OutputFormat.csv: _emit_csv,
        OutputFormat.markdown: _emit_markdown,
        OutputFormat.table: _emit_table,
    }[OutputFormat(fmt)](view)


def _emit_json(view: View) -> None:
    sys.stdout.write(json.dumps(view.payload, indent=2) + "\n")


def _emit_csv(view: View) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = view.csv_columns or view.columns
    writer.writerow([c.key for c in columns])
    for row in view.rows:
        writer.writerow(["" if row.get(c.key) is None else row.get(c.key) for c in columns])
    sys.stdout.write(buffer.getvalue())


def _emit_markdown(view: View) -> None:
    sys.stdout.write(markdown(view))


def markdown(view: View) -> str:
    """``view`` as a markdown heading, table and bullet list of notes."""
    lines = [f"### {view.title}", ""]
    lines.append("| " + " | ".join(c.header for c in view.columns) + " |")
    lines.append("|" + "|".join("---:" if c.align == "right" else ":---" for c in view.columns) + "|")
    for row in view.rows:
        cells = [c.display(row).replace("|", "\\|").replace("\n", "<br>") for c in view.columns]
        lines.append("| " + " | ".join(cells) + " |")
    if view.notes:
        lines.append("")
        lines.extend(f"- {note}" for note in view.notes if note.strip())
    return "\n".join(lines) + "\n"


def console(stderr: bool = False, width: int | None = None):
    """A rich console; wide and uncoloured when not writing to a terminal."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    if width is None and not tty:
        width = int(os.environ.get("COLUMNS", "0") or 0) or 200
    return Console(file=stream, width=width, no_color=not tty, highlight=False, soft_wrap=False)


def _emit_table(view: View) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold")
    least = 1  # the narrowest width that cuts nothing (borders included)
    for column in view.columns:
        cells = [column.display(row, indented=True) for row in view.rows]
        # never cut a number or a path: the widest unbreakable piece is the minimum
        pieces = cells if column.keep_whole else [word for cell in cells for word in cell.split()]
        pieces += column.header.split()
        widest = max(map(len, pieces), default=0)
        table.add_column(column.header, justify=column.align, no_wrap=column.keep_whole, min_width=widest)
        least += widest + 3
    for i, row in enumerate(view.rows):
        style = view.row_styles[i] if view.row_styles else None
        table.add_row(*(Text(column.display(row, indented=True)) for column in view.columns), style=style)
    out = console()
    if least > out.width:  # even squeezed it is wider than the terminal: wrap lines, never cut numbers
        out = console(width=least)
    out.print(view.title, markup=False, highlight=False)
    out.print(table)
    for note in view.notes:
        out.print(note, markup=False)
