"""``modelprof check [FILE]``: budgets for CI, with exit codes and reports.

Exit 0 when every model is within its limits, 1 when any limit is exceeded
(or could not be measured), 2 when the budget file is invalid.
"""

from __future__ import annotations

import contextlib
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..profilers.budgets import BudgetReport, LimitCheck, check_budgets, find_budget_file, load_budget_file
from ..profilers.errors import BadInput
from ..profilers.pipeline import DEFAULT_TIMEOUT_S
from .options import FormatOpt, TimeoutOpt
from .progress import progress_line
from .render import Column, OutputFormat, View, count, emit, markdown

SCHEMA_VERSION = 1


def check(
    file: Annotated[
        Optional[Path],
        typer.Argument(metavar="FILE", help="Budget file [default: ./modelprof.toml, else [tool.modelprof] in ./pyproject.toml].", show_default=False),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
    junit_xml: Annotated[Optional[Path], typer.Option("--junit-xml", metavar="PATH", help="Also write a JUnit XML report here (one testcase per limit).")] = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
) -> None:
    """Check models against the parameter, FLOP, memory and latency budgets of a budget file (exit 1 on any excess)."""
    path = file if file is not None else find_budget_file(Path.cwd())
    budget = load_budget_file(path)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    # where the reports go is checked before minutes of counting, not after "all limits hold"
    if junit_xml is not None:
        writable_file(junit_xml, "--junit-xml")
    if summary:
        writable_file(Path(summary), "$GITHUB_STEP_SUMMARY")
    with progress_line(fmt in (OutputFormat.table, OutputFormat.markdown), f"check {path}") as line:
        on_model = (lambda i, n, name: line.start(f"model {i}/{n}: {name}")) if line else None
        report = check_budgets(budget, timeout_s=timeout, on_model=on_model, on_progress=line)
    view = check_view(report)
    emit(view, fmt)
    if junit_xml is not None:
        with _writing(junit_xml, "--junit-xml"):
            write_junit(report, junit_xml)
    if summary:
        with _writing(Path(summary), "$GITHUB_STEP_SUMMARY"), open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown(view) + "\n")
    raise typer.Exit(0 if report.passed else 1)


def writable_file(path: Path, what: str) -> None:
    """Refuse (exit 2) a report destination that is a folder or cannot be created or written."""
    if path.is_dir():
        raise BadInput(f"{what} {path}: is a folder, not a file")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise BadInput(f"{what} {path}: not writable")
        return
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise BadInput(f"{what} {path}: cannot create it in {folder}")


@contextlib.contextmanager
def _writing(path: Path, what: str):
    """A write that still fails (disk full, a race) is bad input, one line."""
    try:
        yield
    except OSError as error:
        raise BadInput(f"{what} {path}: cannot write ({error.strerror or error})") from None


def _status(check: LimitCheck) -> str:
    if check.skipped:
        return "skip"
    if check.actual is None:
        return "ERROR"
    return "pass" if check.passed else "FAIL"


def _headroom(check: LimitCheck) -> str:
    return "" if check.headroom is None else f"{check.headroom:+.1f}%"


def check_view(report: BudgetReport) -> View:
    rows = [
        {
            "model": c.model,
            "limit_key": c.key,
            "actual": c.actual,
            "limit": c.limit,
            "unit": c.unit,
            "headroom_percent": None if c.headroom is None else round(c.headroom, 2),
            "status": _status(c),
            "source": c.error or c.source,
        }
        for c in report.checks
    ]
    columns = [
        Column("model", "model", "left"),
        Column("limit_key", "limit", "left"),
        Column("actual", "actual", text=lambda r: _figure(r["actual"]) if r["actual"] is not None else "-"),
        Column("limit", "budget", text=lambda r: f"{'≥' if r['limit_key'].startswith('min_') else '≤'} {_figure(r['limit'])}"),
        Column("unit", "unit", "left"),
        Column("headroom_percent", "headroom", text=lambda r: "" if r["headroom_percent"] is None else f"{r['headroom_percent']:+.1f}%"),
        Column("status", "status", "left"),
        Column("source", "counted by", "left", wrap=True),
    ]
    failures = report.failures
    skipped = sum(c.skipped for c in report.checks)
    verdict = "all limits hold" if not failures else f"{len(failures)} of {len(report.checks)} limits exceeded or not measured"
    if skipped:
        verdict += f" ({skipped} skipped: budgets for another device)"
    payload = {
        "schema_version": SCHEMA_VERSION,
        "file": str(report.path),
        "passed": report.passed,
        "checks": [{k: v for k, v in row.items()} for row in rows],
    }
    notes = [f"{report.path}: {verdict}", "headroom: share of the budget left (negative: over budget)"]
    return View(f"Budgets in {report.path}", columns, rows, payload, notes)


def _figure(value: int | float) -> str:
    """Whole numbers with separators; milliseconds and rates to two decimals."""
    return count(value) if isinstance(value, int) else f"{value:,.2f}"


def write_junit(report: BudgetReport, path: Path) -> None:
    """One testsuite, one testcase per (model, limit), a failure element per
    excess, a skipped element per budget for another device."""
    failures = sum(1 for c in report.checks if c.actual is not None and not c.passed)
    errors = sum(1 for c in report.checks if c.actual is None and not c.skipped)
    skipped = sum(c.skipped for c in report.checks)
    suites = ET.Element("testsuites", name="modelprof", tests=str(len(report.checks)), failures=str(failures), errors=str(errors))
    suite = ET.SubElement(
        suites, "testsuite", name=f"modelprof budgets ({report.path.name})", tests=str(len(report.checks)),
        failures=str(failures), errors=str(errors), skipped=str(skipped),
    )
    for check in report.checks:
        case = ET.SubElement(suite, "testcase", classname=f"modelprof.{check.model}", name=check.key, time="0")
        if check.skipped:
            ET.SubElement(case, "skipped", message=check.error)
        elif check.actual is None:
            ET.SubElement(case, "error", message=check.error, type="NotMeasured").text = check.error
        elif not check.passed:
            relation = "above" if check.kind == "max" else "below"
            message = (f"{check.model} {check.key}: {_figure(check.actual)} {check.unit} is {relation} the budget "
                       f"{_figure(check.limit)} ({_headroom(check)})")
            ET.SubElement(case, "failure", message=message, type="BudgetExceeded").text = f"{message}; counted by {check.source}"
        ET.SubElement(case, "system-out").text = f"{check.actual} {check.unit} (budget {check.kind} {check.limit}; {check.source})"
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
