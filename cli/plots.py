"""Plots of ``scale``: in the terminal with plotext, into a PNG or SVG file
with matplotlib (headless Agg backend). Both are the optional extra
``modelprof[plot]`` and are imported only here, only when plotting."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..profilers.errors import BadInput

INSTALL = 'pip install "modelprof[plot]"'
TERMINAL = "-"


def check_available(target: str) -> None:
    """Refuse (exit 2) before anything is counted when the plotting library or the file type is missing."""
    if target == TERMINAL:
        if importlib.util.find_spec("plotext") is None:
            raise BadInput(f"--plot draws with plotext, which is not installed: {INSTALL}")
        return
    if Path(target).suffix.lower() not in (".png", ".svg"):
        raise BadInput(f"--plot {target}: the file must end in .png or .svg")
    if importlib.util.find_spec("matplotlib") is None:
        raise BadInput(f"--plot {target} writes the figure with matplotlib, which is not installed: {INSTALL}")
    folder = Path(target).expanduser().resolve().parent
    if not folder.is_dir():
        raise BadInput(f"--plot {target}: folder {folder} does not exist")


def scale(result, target: str) -> None:
    """MACs against the length on log axes, stacked by part, crossovers marked."""
    x = [p.x for p in result.points]
    parts = _parts(result)
    crossovers = _marks(result)
    title = f"{result.model.name}: MACs per {result.mode} step, batch {result.spec.batch}, {result.convention} attention"
    label = "cached tokens C" if result.variable == "C" else "sequence length n (tokens)"
    if target == TERMINAL:
        _terminal(x, parts, crossovers, title, label)
    else:
        _figure(x, parts, crossovers, title, label, target, stacked=True)


def compare(types, target: str) -> None:
    """One line per layer type: MACs against n at the common width."""
    x = [n for n, _ in types[0].points]
    lines = {f"{t.name} ({t.complexity})": [macs for _, macs in t.points] for t in types}
    title = f"MACs of one layer by type, width d = {types[0].width:,}, batch 1"
    if target == TERMINAL:
        _terminal(x, lines, {}, title, "sequence length n (tokens)", stacked=False)
    else:
        _figure(x, lines, {}, title, "sequence length n (tokens)", target, stacked=False)


def _parts(result) -> dict[str, list[int]]:
    names = [n for n in ("linear", "attention", "conv", "recurrent", "backward") if any(p.parts.get(n) for p in result.points)]
    return {name: [p.parts.get(name, 0) for p in result.points] for name in names}


def _marks(result) -> dict[str, float]:
    from .scale_cmd import CROSSOVER_LABELS

    shown = {}
    for name, label in CROSSOVER_LABELS.items():
        value = result.crossovers.get(name)
        if value is not None and result.points and result.points[0].x <= value <= result.points[-1].x:
            shown[f"{label}: {float(value):,.0f}"] = float(value)
    return shown


def _terminal(x, series, marks, title, label, stacked: bool = True) -> None:
    """plotext on stdout, as wide as the terminal (or $COLUMNS), uncoloured when not a terminal."""
    import shutil
    import sys

    import plotext as plt

    from .render import si

    plt.clear_figure()
    tty = sys.stdout.isatty()
    if not tty:
        plt.clear_color()
    columns, _ = shutil.get_terminal_size((100, 30))
    plt.plotsize(max(columns, 60), 24)
    plt.xscale("log")
    plt.yscale("log")
    running, top = [0] * len(x), 1
    for name, values in series.items():
        running = [r + v for r, v in zip(running, values)] if stacked else values
        top = max(top, *running)
        plt.plot(x, running, label=f"+ {name}" if stacked else name, marker="dot")
    for value in marks.values():
        plt.vline(value)
    plt.xticks(x, [f"{n:,}" for n in x])
    decades = [10**k for k in range(len(str(min(v for v in running if v) if any(running) else 1)) - 1, len(str(top)) + 1)]
    plt.yticks(decades, [si(d) for d in decades])
    plt.title(title)
    plt.xlabel(label)
    plt.ylabel("MACs, stacked" if stacked else "MACs")
    drawn = plt.build()
    sys.stdout.write((drawn if tty else plt.uncolorize(drawn)) + "\n")
    for text in marks:
        print(f"  | {text}")


def _figure(x, series, marks, title, label, target: str, stacked: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5.5), layout="constrained")
    if stacked:
        axes.stackplot(x, *series.values(), labels=list(series), alpha=0.8)
    else:
        for name, values in series.items():
            axes.plot(x, values, marker="o", label=name)
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    for text, value in marks.items():
        axes.axvline(value, color="black", linestyle="--", linewidth=0.8)
        axes.annotate(text, (value, 0.98), xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right", fontsize=8)
    axes.set_xlabel(label)
    axes.set_ylabel("multiply-accumulates (MACs) per step" + (", stacked by part" if stacked else ""))
    axes.set_title(title, fontsize=10)
    axes.legend(loc="upper left", fontsize=8)
    axes.grid(True, which="major", alpha=0.3)
    figure.savefig(target)
    plt.close(figure)
