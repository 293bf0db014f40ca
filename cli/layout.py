"""Fitting a table to the terminal without cutting anything.

Widths are measured from the text of every cell before rich draws anything,
and a layout is chosen that fits the console width as it stands:

1. one table, every column at its natural width;
2. one table, columns marked ``wrap`` broken between words (a word, a number
   or a path is never broken), headers broken between words;
3. column groups: several tables, each repeating the key column(s) and
   holding as many of the other columns as fit (``View.narrow == "columns"``);
4. records: one block per row, ``header: value`` pairs wrapped between pairs
   (``View.narrow == "records"``, or when even one column beside the key does
   not fit).

Notes and titles are wrapped here too, with a hanging indent, so the terminal
never wraps a line a second time.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

# rich's default box with padding 1: "│ " before each cell, " " after, one closing "│"
CHROME_PER_COLUMN = 3
CHROME_FIXED = 1


@dataclass(frozen=True)
class Measured:
    natural: int  # widest line of any cell or the header on one line
    least: int  # narrowest width that breaks nothing but spaces


def measure(header: str, cells: list[str], wrap: bool) -> Measured:
    lines = [line for cell in cells for line in cell.splitlines()] or [""]
    widest_line = max(len(line) for line in lines)
    widest_word = max((len(word) for line in lines for word in line.split()), default=0)
    header_word = max((len(word) for word in header.split()), default=0)
    natural = max(widest_line, len(header))
    least = max(widest_word if wrap else widest_line, header_word)
    return Measured(natural, least)


def table_width(widths: list[int]) -> int:
    return sum(widths) + CHROME_PER_COLUMN * len(widths) + CHROME_FIXED


def fit_widths(sizes: list[Measured], wrappable: list[bool], width: int) -> list[int] | None:
    """Column widths that fit ``width``, or None. Natural widths when they fit;
    else the least widths with the spare room shared out to the columns that
    may wrap (and to squeezed headers), narrowest first."""
    natural = [s.natural for s in sizes]
    if table_width(natural) <= width:
        return natural
    widths = [s.least for s in sizes]
    spare = width - table_width(widths)
    if spare < 0:
        return None
    for i in sorted(range(len(sizes)), key=lambda i: sizes[i].natural - sizes[i].least):
        grow = min(spare, sizes[i].natural - widths[i])
        widths[i] += grow
        spare -= grow
    return widths


def column_groups(sizes: list[Measured], keys: int, width: int) -> list[list[int]] | None:
    """Split the columns after the first ``keys`` into as few groups as fit
    beside the key columns, balanced (7 columns in 2 tables: 4 and 3, not 6
    and 1); None when some column cannot fit even alone."""
    key_widths = [s.least for s in sizes[:keys]]
    fits = lambda group: table_width(key_widths + [sizes[j].least for j in group]) <= width  # noqa: E731
    rest = list(range(keys, len(sizes)))
    if not all(fits([i]) for i in rest):
        return None
    greedy = _split(rest, fits, len(rest))
    per_group = -(-len(rest) // len(greedy))  # ceiling
    balanced = _split(rest, fits, per_group)
    return balanced if len(balanced) == len(greedy) else greedy


def _split(columns: list[int], fits, most: int) -> list[list[int]]:
    """Consecutive groups of at most ``most`` columns, each as long as fits."""
    groups: list[list[int]] = [[]]
    for i in columns:
        if len(groups[-1]) < most and fits(groups[-1] + [i]):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def wrap_line(line: str, width: int, hanging: int = 4) -> list[str]:
    """``line`` broken between words to ``width``; continuation lines are
    indented ``hanging`` columns deeper than the line's own indent. A word
    too long for that indent starts its own line at column 0; only a word
    longer than the whole width (a deep path) is folded, after its ``/``
    separators where it has them."""
    if len(line) <= width:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    rest = " " * min(len(indent) + hanging, max(width // 2, 0))
    wrapped = textwrap.wrap(
        line.strip(),
        width=width,
        initial_indent=indent,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [line]
    return [part for piece in wrapped for part in ([piece] if len(piece) <= width else _fold(piece.strip(), width))]


def _fold(text: str, width: int) -> list[str]:
    """``text`` (at column 0) in pieces of at most ``width``, each ending
    after a ``/`` where one falls within reach, else cut at the width."""
    pieces = []
    while len(text) > width:
        cut = text.rfind("/", 0, width) + 1 or width
        pieces.append(text[:cut])
        text = text[cut:]
    return pieces + [text] if text else pieces


def record_lines(first: str, pairs: list[tuple[str, str]], width: int) -> list[str]:
    """One row as a block: the key on its own line, then ``header: value``
    pairs joined with `` · `` and wrapped between pairs."""
    lines = wrap_line(first, width)
    current = ""
    for header, value in pairs:
        piece = f"{header}: {value}" if value else ""
        if not piece:
            continue
        candidate = f"{current} · {piece}" if current else f"  {piece}"
        if len(candidate) <= width or not current:
            current = candidate
        else:
            lines.extend(wrap_line(current, width))
            current = f"  {piece}"
    if current:
        lines.extend(wrap_line(current, width))
    return lines
