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

from ..profilers.units import binary_size
from . import layout


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
    wrap: bool = False  # may break between words in a narrow terminal (never inside a word)

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
    key_columns: int = 1  # leading columns that name a row (repeated when the table is split)
    narrow: str = "columns"  # when too wide: "columns" (split into tables) or "records" (a block per row)


def count(n: int | float | None) -> str:
    """Exact integer with thousands separators (``102,267,648``)."""
    return "" if n is None else f"{int(n):,}"


def si(n: int | float | None) -> str:
    """Compact decimal magnitude (``11.17G``, ``589.8k``), for humans."""
    if n is None:
        return ""
    value = float(n)
    for scale, prefix in ((1e24, "Y"), (1e21, "Z"), (1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.2f}{prefix}"
    return f"{int(value)}"


def size(n_bytes: int | None) -> str:
    """Binary size (``390.12 MiB``)."""
    return "" if n_bytes is None else binary_size(n_bytes)


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
        lines.extend(markdown_list(view.notes))
    return "\n".join(lines) + "\n"


def markdown_list(notes: list[str]) -> list[str]:
    """Note lines as a CommonMark bullet list: an indented line becomes an item
    nested under the line before it (never an indented code block)."""
    items: list[str] = []
    indents: list[int] = []  # indent of the note at each open nesting level
    for note in notes:
        text = note.strip()
        if not text:
            continue
        indent = len(note) - len(note.lstrip())
        while indents and indent <= indents[-1]:
            indents.pop()
        level = len(indents)
        indents.append(indent)
        items.append("  " * level + "- " + text)
    return items


def console(stderr: bool = False, width: int | None = None):
    """A rich console; uncoloured and 200 columns wide (or ``$COLUMNS``) when
    not writing to a terminal."""
    from rich.console import Console

    class PipeAwareConsole(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError  # the CLI ends quietly (rich itself would exit 1: "budget exceeded")

    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    if width is None and not tty:
        width = int(os.environ.get("COLUMNS", "0") or 0) or 200
    return PipeAwareConsole(file=stream, width=width, no_color=not tty, highlight=False, soft_wrap=False)


def _emit_table(view: View) -> None:
    print_table(view, console())


def print_table(view: View, out) -> None:
    """Print ``view`` on the rich console ``out`` in a layout that fits
    ``out.width`` without cutting any cell (see :mod:`layout`)."""
    width = out.width
    cells = [[c.display(row, indented=True) for row in view.rows] for c in view.columns]
    sizes = [layout.measure(c.header, col, c.wrap) for c, col in zip(view.columns, cells)]
    _print_lines(out, layout.wrap_line(view.title, width))
    everything = list(range(len(view.columns)))
    widths = layout.fit_widths(sizes, [c.wrap for c in view.columns], width)
    if widths is not None:
        out.print(_table(view, cells, everything, widths))
    else:
        keys = list(range(min(view.key_columns, len(view.columns))))
        groups = layout.column_groups(sizes, len(keys), width) if view.narrow == "columns" else None
        if groups is None:
            _print_records(view, cells, out)
        else:
            for n, group in enumerate(groups):
                chosen = keys + group
                fitted = layout.fit_widths([sizes[i] for i in chosen], [view.columns[i].wrap for i in chosen], width)
                if n:
                    out.print()
                out.print(_table(view, cells, chosen, fitted))
    for note in view.notes:
        _print_lines(out, layout.wrap_line(note, width) if note else [""])


def _table(view: View, cells: list[list[str]], chosen: list[int], widths: list[int]):
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold")
    for i, width in zip(chosen, widths):
        column = view.columns[i]
        table.add_column(column.header, justify=column.align, width=width, min_width=width, overflow="fold")
    for r, _row in enumerate(view.rows):
        style = view.row_styles[r] if view.row_styles else None
        table.add_row(*(Text(cells[i][r]) for i in chosen), style=style)
    return table


def _print_records(view: View, cells: list[list[str]], out) -> None:
    keys = min(view.key_columns, len(view.columns))
    for r in range(len(view.rows)):
        first = " ".join(cells[i][r].strip() for i in range(keys))
        pairs = [(view.columns[i].header, " ".join(cells[i][r].split())) for i in range(keys, len(view.columns))]
        _print_lines(out, layout.record_lines(first, pairs, out.width))


def _print_lines(out, lines: list[str]) -> None:
    """Lines already fitted to the width: printed as they are (rich neither
    wraps nor crops them)."""
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True, crop=False)
