"""`modelprof check`: budget files, exit codes, JUnit / markdown / JSON reports."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET

import pytest

from modelprof.profilers.units import parse_quantity

from .conftest import REPO, run_console

ISSUE_EXAMPLE = """
[defaults]
seq_len = 128
batch = 1

[models."bert-base-uncased"]
base = true
max_params = "110M"
max_forward_macs = "11.2G"
max_forward_flops = "22.4G"

[models."toy:tanh-net"]
max_params = 3_200_000
"""


def write(folder, text: str, name: str = "modelprof.toml"):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(
    "text, value",
    [
        ("110M", 110_000_000), ("1.2B", 1_200_000_000), ("22.4G", 22_400_000_000), ("3T", 3 * 10**12),
        (3_200_000, 3_200_000), ("3_200_000", 3_200_000), ("2,048", 2048), ("16GiB", 16 * 2**30),
        ("512MiB", 512 * 2**20), ("11.2 GMACs", 11_200_000_000), ("1e9", 10**9), (1.5e6, 1_500_000),
    ],
)
def test_quantities(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["abc", "-1", -5, "1.2X", True, None, "M"])
def test_bad_quantities(text):
    with pytest.raises(ValueError):
        parse_quantity(text)


def test_issue_example_passes_with_every_report(tmp_path, cli, monkeypatch):
    budget = write(tmp_path, ISSUE_EXAMPLE)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    junit = tmp_path / "reports" / "budgets.xml"
    result = cli("check", str(budget), "--junit-xml", str(junit), "-f", "json")
    assert result.code == 0, result.err
    payload = result.json()
    assert payload["passed"] is True
    checks = {(c["model"], c["limit_key"]): c for c in payload["checks"]}
    # 109,482,240 params of 110,000,000: (110,000,000 - 109,482,240) / 110,000,000 = 0.47%
    assert checks[("bert-base-uncased", "max_params")]["actual"] == 109_482_240
    assert checks[("bert-base-uncased", "max_params")]["headroom_percent"] == 0.47
    assert checks[("bert-base-uncased", "max_forward_macs")]["actual"] == 11_174_215_680
    assert checks[("bert-base-uncased", "max_forward_flops")]["actual"] == 22_348_431_360
    assert checks[("bert-base-uncased", "max_forward_flops")]["source"] == "analytic"
    assert checks[("toy:tanh-net", "max_params")]["actual"] == 3_145_728
    # the JUnit file parses back: one testcase per limit, no failures
    root = ET.parse(junit).getroot()
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 4 and not root.findall(".//failure")
    assert root.get("tests") == "4" and root.get("failures") == "0"
    # the markdown report was appended to the step summary
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "| bert-base-uncased | max_params | 109,482,240 |" in text


def test_exceeded_limits_fail_with_junit_failures(tmp_path, cli):
    budget = write(tmp_path, ISSUE_EXAMPLE.replace('"110M"', '"100M"').replace("3_200_000", "3_000_000"))
    junit = tmp_path / "budgets.xml"
    result = cli("check", str(budget), "--junit-xml", str(junit))
    assert result.code == 1
    assert "FAIL" in result.out and "2 of 4 limits exceeded" in result.out
    root = ET.parse(junit).getroot()
    failures = root.findall(".//testcase/failure")
    assert len(failures) == 2 and root.find("testsuite").get("failures") == "2"
    messages = sorted(f.get("message") for f in failures)
    assert "bert-base-uncased max_params: 109,482,240 params is above the budget 100,000,000 (-9.5%)" in messages


def test_min_params_and_markdown(tmp_path, cli):
    budget = write(tmp_path, """
        [models."toy:mlp"]
        min_params = "1M"
        max_trainable_params = 300_000
        max_non_embedding_params = 300_000
        max_bytes = "1MiB"
        dtype = "fp32"
    """)
    result = cli("check", str(budget), "-f", "markdown")
    assert result.code == 1  # 235,146 params < 1,000,000
    lines = result.out.splitlines()
    assert "| toy:mlp | min_params | 235,146 | ≥ 1,000,000 | params | -76.5% | FAIL | analytic |" in lines
    # 235,146 x 4 bytes = 940,584 <= 1,048,576
    assert "| toy:mlp | max_bytes | 940,584 | ≤ 1,048,576 | bytes | +10.3% | pass | analytic at fp32 |" in lines


def test_mixture_of_experts_active_params(tmp_path, cli):
    budget = write(tmp_path, """
        [models."mistralai/Mixtral-8x7B-v0.1"]
        max_params = "47B"
        max_active_params = "13B"
    """)
    payload = cli("check", str(budget), "-f", "json").json()
    checks = {c["limit_key"]: c for c in payload["checks"]}
    assert checks["max_params"]["actual"] == 46_702_792_704
    # 2 of 8 experts per token: 46,702,792,704 - 32 layers x 6 unused experts x 3 x 4096 x 14336
    assert checks["max_active_params"]["actual"] == 46_702_792_704 - 32 * 6 * 3 * 4096 * 14336
    assert payload["passed"] is True


def test_train_flops_are_measured(tmp_path, cli):
    budget = write(tmp_path, """
        [models."toy:tanh-net"]
        max_train_flops = "20M"
    """)
    payload = cli("check", str(budget), "-f", "json").json()
    (check,) = payload["checks"]
    # forward 3,145,728 MACs + backward 2 x 2,097,152 (linear2) + 1,048,576 (linear1: no grad input) = 8,388,608 MACs
    assert check["actual"] == 16_777_216 and check["status"] == "pass"


def test_pyproject_tool_table(tmp_path, cli, monkeypatch):
    write(tmp_path, '[project]\nname = "x"\n\n[tool.modelprof.models."toy:tanh-net"]\nmax_params = 3_200_000\n', "pyproject.toml")
    monkeypatch.chdir(tmp_path)
    result = cli("check")
    assert result.code == 0, result.err
    assert "toy:tanh-net" in result.out


@pytest.mark.parametrize(
    "text, message",
    [
        ("[models.\n", "invalid TOML"),
        ('[models."toy:mlp"]\nmax_parms = 5\n', "[models.\"toy:mlp\"]: unknown key 'max_parms' (did you mean max_params?)"),
        ('[models."toy:mlp"]\nmax_params = "lots"\n', "[models.\"toy:mlp\"]: max_params: cannot read 'lots'"),
        ('[models."bert-base-uncasd"]\nmax_params = 5\n', "[models.\"bert-base-uncasd\"]: unknown model 'bert-base-uncasd'"),
        ('[defaults]\nseq_len = 0\n[models."toy:mlp"]\nmax_params = 5\n', "[defaults]: seq_len: expected a positive integer, got 0"),
        ('[models."toy:mlp"]\nbase = "yes"\nmax_params = 5\n', "base: expected true or false"),
        ('[models."toy:mlp"]\nbatch = 2\n', "no limits"),
        ("[defaults]\nbatch = 1\n", "[models] is missing or empty"),
        ('[budget]\nx = 1\n', "unknown key 'budget'"),
    ],
)
def test_invalid_files_exit_2_naming_file_model_and_key(tmp_path, cli, text, message):
    budget = write(tmp_path, text)
    result = cli("check", str(budget))
    assert result.code == 2
    assert result.err.startswith(f"modelprof: error: {budget}: ")
    assert message in result.err and result.err.count("\n") == 1


def test_missing_budget_file(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("check")
    assert result.code == 2 and "no budget file" in result.err


def test_example_file_in_configs_is_valid():
    from modelprof.profilers.budgets import load_budget_file

    budget = load_budget_file(REPO / "configs" / "budgets.example.toml")
    assert [m.model for m in budget.models][:2] == ["bert-base-uncased", "toy:tanh-net"]


def test_exit_codes_through_the_console_script(tmp_path):
    passing = write(tmp_path, '[models."toy:tanh-net"]\nmax_params = 3_200_000\n', "pass.toml")
    failing = write(tmp_path, '[models."toy:tanh-net"]\nmax_params = 3_000_000\n', "fail.toml")
    invalid = write(tmp_path, '[models."toy:tanh-net"]\nmax_flops = 1\n', "invalid.toml")
    assert run_console("check", str(passing)).returncode == 0
    assert run_console("check", str(failing)).returncode == 1
    bad = run_console("check", str(invalid))
    assert bad.returncode == 2 and "unknown key 'max_flops'" in bad.stderr and "Traceback" not in bad.stderr


def test_report_destinations_are_checked_before_counting(tmp_path):
    passing = write(tmp_path, '[models."toy:mlp"]\nmax_params = "1M"\n')
    folder = run_console("check", str(passing), "--junit-xml", str(tmp_path))
    assert folder.returncode == 2 and folder.stdout == ""  # not after printing "all limits hold"
    assert folder.stderr == f"modelprof: error: --junit-xml {tmp_path}: is a folder, not a file\n"
    a_file = tmp_path / "plain.txt"
    a_file.write_text("")
    summary = run_console("check", str(passing), env={"GITHUB_STEP_SUMMARY": str(a_file / "summary.md")})
    assert summary.returncode == 2 and summary.stdout == ""
    assert "$GITHUB_STEP_SUMMARY" in summary.stderr and "cannot create it" in summary.stderr
    nested = run_console("check", str(passing), "--junit-xml", str(tmp_path / "new" / "dir" / "r.xml"))
    assert nested.returncode == 0 and (tmp_path / "new" / "dir" / "r.xml").is_file()


def test_budget_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "modelprof.toml"
    path.write_bytes(b'[models."toy:mlp"]\nmax_params = 1 # \xff\xfe\n')
    result = run_console("check", str(path))
    assert result.returncode == 2
    assert result.stderr == f"modelprof: error: {path}: not a UTF-8 text file (byte 36)\n"  # after 36 ASCII bytes
