"""Tables fit the terminal: at 80, 100, 120 and 200 columns no line is wider
than the console, and every figure of the same run's JSON is printed whole
(the layout changes instead: wrapped cells, column groups, records)."""

from __future__ import annotations

import io
import re
import textwrap

import pytest
from rich.console import Console

from modelprof.cli.flops_cmd import explain_view, flops_view
from modelprof.cli.render import View, count, print_table, si
from modelprof.profilers.pipeline import profile_flops

WIDTHS = (80, 100, 120, 200)


def rendered(view: View, width: int) -> str:
    buffer = io.StringIO()
    print_table(view, Console(file=buffer, width=width, no_color=True, highlight=False, soft_wrap=False))
    return buffer.getvalue()


def assert_fits(text: str, width: int) -> None:
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert not too_wide, f"{len(too_wide)} line(s) wider than {width}: {too_wide[0]!r}"


def assert_whole(text: str, figure: str) -> None:
    """``figure`` appears with no digit, letter, comma or decimal point glued to either side."""
    pattern = r"(?<![\w,.])" + re.escape(figure) + r"(?![\w,]|\.\d)"
    assert re.search(pattern, text), f"{figure!r} is not printed whole"


def assert_cells_whole(view: View, text: str) -> None:
    """Every word of every cell (numbers, paths, tags) is printed unbroken."""
    for column in view.columns:
        for row in view.rows:
            for word in column.display(row).split():
                assert_whole(text, word)


def rendered_whole(view: View, width: int) -> str:
    """``view`` at ``width``, checked to fit with every cell whole."""
    text = rendered(view, width)
    assert_fits(text, width)
    assert_cells_whole(view, text)
    return text


@pytest.fixture(scope="module")
def bert_flops():
    return profile_flops("bert-base-uncased", base=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_flops_table_fits_and_keeps_every_figure(bert_flops, width):
    view = flops_view(bert_flops)
    text = rendered_whole(view, width)
    payload = view.payload
    for name, counter in payload["counters"].items():
        for key in ("macs", "flops", "other_ops", "printed", "params"):
            if counter[key]:
                assert_whole(text, count(counter[key]))
    for row in payload["rows"]:
        assert_whole(text, count(row["params"]))
        assert_whole(text, si(row["reference"]))
        for value in row["values"].values():
            assert_whole(text, si(value))
    # the reference column is shown once, not again as the reference counter's own column
    headers = [column.header for column in view.columns]
    assert "analytic MACs (reference)" in headers and "analytic MACs" not in headers


@pytest.mark.parametrize("width", WIDTHS)
def test_explain_and_operator_views_fit(bert_flops, width):
    text = rendered_whole(explain_view(bert_flops), width)
    for group in bert_flops.results["analytic"].groups:
        assert_whole(text, count(group["macs"]))
    by_op = profile_flops("toy:attention", counters=["analytic", "torch"], view="op")
    rendered_whole(flops_view(by_op), width)


@pytest.mark.parametrize("width", WIDTHS)
def test_params_table_fits_and_keeps_every_figure(cli, monkeypatch, width):
    for model, depth in (("gpt2", "1"), ("t5-small", "2"), ("bert-base-chinese", "3")):
        payload = cli("params", model, "--depth", depth, "-f", "json").json()
        monkeypatch.setenv("COLUMNS", str(width))
        text = cli("params", model, "--depth", depth).out
        monkeypatch.delenv("COLUMNS")
        assert_fits(text, width)
        for module in payload["modules"]:
            assert_whole(text, module["path"] or "(root)")
            assert_whole(text, count(module["params"]))
        for tied in payload["tied"]:
            assert_whole(text, tied["same_as"])
        assert_whole(text, count(payload["params"]["total"]))


@pytest.mark.parametrize("width", WIDTHS)
def test_list_fits_and_keeps_every_figure(cli, monkeypatch, width):
    payload = cli("list", "-f", "json").json()
    monkeypatch.setenv("COLUMNS", str(width))
    text = cli("list").out
    assert_fits(text, width)
    for model in payload["models"]:
        assert_whole(text, model["name"])
        assert_whole(text, count(model["params"]))
        for word in model["description"].split():
            assert_whole(text, word)


@pytest.mark.parametrize("width", WIDTHS)
def test_check_table_fits_and_keeps_every_figure(cli, monkeypatch, tmp_path, width):
    budget = tmp_path / "modelprof.toml"
    budget.write_text(textwrap.dedent("""
        [models."meta-llama/Llama-2-70b-hf"]
        max_params = "70B"
        max_forward_flops = "18T"
        [models."toy:tanh-net"]
        max_params = 3_000_000
    """))
    payload = cli("check", str(budget), "-f", "json").json()
    monkeypatch.setenv("COLUMNS", str(width))
    text = cli("check", str(budget)).out
    assert_fits(text, width)
    for check in payload["checks"]:
        assert_whole(text, check["model"])
        assert_whole(text, check["limit_key"])
        assert_whole(text, count(check["actual"]))
        assert_whole(text, count(check["limit"]))


def test_notes_are_wrapped_with_a_hanging_indent():
    from modelprof.cli.render import Column

    note = "  fvcore: " + " ".join(["misses attention MACs (-301,989,888)"] * 4)
    view = View("t", [Column("a", "a")], [{"a": 1}], {}, [note])
    lines = rendered(view, 80).splitlines()[6:]  # title, 5 lines of table
    assert lines[0].startswith("  fvcore: misses") and all(line.startswith("      ") for line in lines[1:])
    assert " ".join(" ".join(lines).split()) == " ".join(note.split())


def test_a_path_too_long_for_the_hanging_indent_starts_its_own_line():
    from modelprof.cli.layout import wrap_line

    path = "/tmp/pytest-of-root/pytest-141/test_check_table_fits_and_keep0/modelprof.toml"  # 77 characters
    assert wrap_line(f"Budgets in {path}", 80) == ["Budgets in", path]  # 4 + 77 > 80: no indent, still whole
    deep = "/" + "a" * 60 + "/" + "b" * 60 + "/modelprof.toml"  # wider than any 80-column line
    assert wrap_line(f"Budgets in {deep}", 80) == ["Budgets in", deep[:62], deep[62:]]  # folded after a "/"


@pytest.fixture(scope="module")
def memory_and_bench():
    from modelprof.models.inputs import InputSpec
    from modelprof.profilers.bench import BenchRequest, profile_bench
    from modelprof.profilers.footprint import MemoryRequest, profile_memory

    memory = profile_memory(MemoryRequest("toy:attention", lengths=(128, 4096), fit_bytes=2**30))
    bench = profile_bench(BenchRequest("toy:tanh-net", InputSpec(), repeats=2, by_module=True))
    return memory, bench


@pytest.mark.parametrize("width", WIDTHS)
def test_memory_and_bench_tables_fit_and_keep_every_figure(memory_and_bench, width):
    from modelprof.cli.bench_cmd import bench_view, modules_view as bench_modules
    from modelprof.cli.memory_cmd import memory_view, modules_view as memory_modules

    memory, bench = memory_and_bench
    rendered_whole(memory_view(memory, 1), width)
    rendered_whole(memory_modules(memory, 1), width)
    text = rendered_whole(bench_view(bench), width)
    assert_whole(text, count(bench.flops_per_step))
    rendered_whole(bench_modules(bench), width)
