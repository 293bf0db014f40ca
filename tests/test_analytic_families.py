"""The analytic counter as a whole: every family of the issue registered and
importable on its own, torch never imported on the analytic path, and its
parameter tree shaped exactly like the one of the built model."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

from modelprof.profilers import analytic
from modelprof.profilers.pipeline import profile_params

ISSUE_FAMILIES = {
    "bert", "roberta", "albert", "distilbert", "electra", "gpt2", "gpt_neox", "opt", "llama", "mistral", "qwen2",
    "gemma", "phi", "mixtral", "qwen2_moe", "t5", "bart", "vit",
}


@pytest.mark.parametrize("module", [m.name for m in pkgutil.iter_modules(analytic.__path__)])
def test_each_family_module_imports_on_its_own(module):
    importlib.import_module(f"modelprof.profilers.analytic.{module}")


def test_every_family_and_toy_is_supported():
    from modelprof.models.toys import toy_names

    supported = set(analytic.supported_model_types())
    assert ISSUE_FAMILIES <= supported
    assert set(toy_names()) <= supported


def test_analytic_path_never_imports_torch():
    code = (
        "import sys\n"
        "from modelprof.cli.app import run\n"
        "assert run(['flops', 'meta-llama/Llama-3.1-405B', '--counters', 'analytic', '-f', 'json']) == 0\n"
        "assert run(['params', 'mistralai/Mixtral-8x7B-v0.1', '--counters', 'analytic', '-f', 'json']) == 0\n"
        "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '"counter": "analytic"' in done.stdout
    # 126 layers x (2*16384^2 + 2*16384*1024 + 3*16384*53248) + 128256*16384, x 128 tokens, + 126 x 2 x 128^2 x 16384
    per_token = 126 * (2 * 16384**2 + 2 * 16384 * 1024 + 3 * 16384 * 53248) + 128256 * 16384
    assert f'"macs": {128 * per_token + 126 * 2 * 128**2 * 16384}' in done.stdout


@pytest.mark.parametrize(
    "name, base",
    [("bert-base-uncased", False), ("gpt2", False), ("t5-small", False), ("meta-llama/Llama-2-7b-hf", False),
     ("google/vit-base-patch16-224", False), ("albert-base-v2", True), ("toy:mlp", False), ("toy:transformer", False)],
)
def test_analytic_tree_equals_built_tree(name, base):
    built = profile_params(name, base=base).report
    closed = profile_params(name, base=base, analytic=True).report
    # rows holding parameters (the built tree also marks tied aliases, which hold none)
    shape = lambda report: [(m.path, m.depth, m.params, m.embedding) for m in report.modules if m.params]  # noqa: E731
    assert shape(closed) == shape(built)
    assert closed.total == built.total and closed.bytes == built.bytes


def test_explain_formulas_with_numbers(cli):
    result = cli("flops", "meta-llama/Llama-2-7b-hf", "--counters", "analytic", "--explain", "-f", "markdown")
    assert result.code == 0, result.err
    rows = {line.split(" | ")[0].lstrip("| "): line for line in result.out.splitlines() if line.startswith("| ")}
    # 3·B·n·H·F = 3·1·128·4096·11008 = 17,314,086,912 per layer, x 32
    assert rows["gated MLP (gate, up, down)"] == (
        "| gated MLP (gate, up, down) | model.layers.*.mlp | 3·B·n·H·F = 3·1·128·4096·11008 | 17,314,086,912 | 32 "
        "| 554,050,781,184 | 4,328,521,728 |"
    )
    # 2·B·h·n²·d = 2·1·32·128²·128 = 134,217,728 per layer
    assert "| 2·B·h·n²·d = 2·1·32·128²·128 | 134,217,728 | 32 | 4,294,967,296 |" in rows["attention scores and weighted sum"]
    assert rows["total"].endswith("| 850,000,871,424 | 6,738,415,616 |")
    assert "- total 850,000,871,424 MACs = 1,700,001,742,848 FLOPs; 6,738,415,616 params" in result.out


def test_explain_needs_the_analytic_counter(cli):
    result = cli("flops", "toy:mlp", "--counters", "torch", "--explain")
    assert result.code == 2 and "--explain needs the analytic counter" in result.err
