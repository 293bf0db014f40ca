"""Inputs: every option is honoured or refused, typed inputs by name, and a
run that measured nothing never exits 0."""

from __future__ import annotations

import textwrap

import pytest

from .conftest import run_console

NO_INPUTS_FACTORY = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x, scale=None):
        return self.fc2(self.fc1(x))

def make():
    return Net()  # no example inputs

class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        raise RuntimeError("this forward always fails")

def broken():
    return Broken(), __import__("torch").zeros(1, 8)
"""


@pytest.fixture
def factories(tmp_path):
    path = tmp_path / "nets.py"
    path.write_text(textwrap.dedent(NO_INPUTS_FACTORY))
    return path


@pytest.mark.parametrize(
    "args, message",
    [
        (["gpt2", "--input-shape", "1,64"], "gpt2: --input-shape does not apply: a text model takes token ids"),
        (["gpt2", "--decoder-seq-len", "10"], "gpt2: --decoder-seq-len does not apply"),
        (["gpt2", "--image-size", "64"], "gpt2: --image-size does not apply"),
        (["google/vit-base-patch16-224", "--seq-len", "64"], "--seq-len does not apply: a vision model takes pixel_values"),
        (["toy:mlp", "--seq-len", "10"], "toy:mlp: --seq-len does not apply: toy:mlp takes one tensor, 1x784 by default"),
        (["toy:mlp", "--attn", "eager"], "toy:mlp: --attn only applies to HuggingFace configs, not to a toy net"),
        (["toy:mlp", "--base"], "toy:mlp: --base only applies to HuggingFace configs"),
        (["toy:cnn", "--input-shape", "1,3"], "--input-shape 1x3 does not fit: its input is B x channels x height x width"),
        (["toy:rnn", "--input-shape", "1,32,65"], "with dimension 2 = 64"),
        (["gpt2", "--input", "input_ids=1x64", "--seq-len", "3"], "--input fixes the input; --seq-len cannot be combined"),
        (["gpt2", "--input", "input_ids=1x64:int8"], "unknown dtype 'int8'"),
        (["gpt2", "--input", "1x64"], "expected NAME=SHAPE[:DTYPE]"),
    ],
)
def test_options_that_do_not_apply_are_refused(cli, args, message):
    result = cli("flops", *args, "--counters", "analytic")
    assert result.code == 2, result.out
    assert message in result.err and result.err.count("\n") == 1


def test_options_of_a_factory_with_example_inputs_are_refused(cli, factories):
    result = cli("flops", f"{factories}:broken", "--batch", "4")
    assert result.code == 2
    assert "--batch does not apply: a Python factory is fed its own example inputs, or --input-shape / --input" in result.err


def test_toys_take_their_length_and_batch_from_the_options(cli):
    payload = cli("flops", "toy:rnn", "--seq-len", "100", "--batch", "4", "--counters", "analytic,torch", "-f", "json").json()
    assert payload["input"]["tensors"] == {"arg0": {"shape": [4, 100, 64], "dtype": "float32"}}
    # 2-layer Elman RNN 64 -> 128, B = 4, n = 100:
    # layer 1: 4·100·(64·128 + 128²) = 9,830,400; layer 2: 4·100·(128·128 + 128²) = 13,107,200; head 4·128·10 = 5,120
    assert payload["counters"]["analytic"]["macs"] == payload["counters"]["torch"]["macs"] == 22_942_720
    image = cli("flops", "toy:cnn", "--image-size", "64", "--counters", "analytic", "-f", "json").json()
    assert image["input"]["tensors"]["arg0"]["shape"] == [1, 3, 64, 64]


def test_named_typed_inputs_on_a_huggingface_model(cli):
    payload = cli("flops", "gpt2", "--input", "input_ids=1x64", "--counters", "analytic,torch", "-f", "json").json()
    assert payload["input"]["tensors"] == {"input_ids": {"shape": [1, 64], "dtype": "int64"}}
    assert payload["input"]["tokens"] == 64
    assert payload["counters"]["analytic"]["status"] == "skipped"
    # GPT-2 at n = 64: 12 layers x (12·n·768² + 2·n²·768) = 5,511,315,456; LM head n·768·50257 = 2,470,232,064
    assert payload["counters"]["torch"]["macs"] == 5_511_315_456 + 2_470_232_064
    assert payload["reference"]["counter"] == "torch"


def test_named_inputs_feed_a_factory_without_example_inputs(cli, factories):
    missing = cli("flops", f"{factories}:make", "--counters", "torch")
    assert missing.code == 2 and "returned no example inputs; pass --input-shape or --input" in missing.err
    payload = cli("flops", f"{factories}:make", "--input", "x=2x8", "--counters", "torch,thop", "-f", "json").json()
    # 2·8·16 + 2·16·4 = 384 MACs
    assert payload["counters"]["torch"]["macs"] == payload["counters"]["thop"]["macs"] == 384
    assert payload["input"]["tensors"] == {"x": {"shape": [2, 8], "dtype": "float32"}}


def test_nothing_measured_exits_3_with_the_reasons(cli, factories):
    train = cli("flops", "gpt2", "--mode", "train", "--counters", "analytic")
    assert train.code == 3
    assert train.err == "modelprof: error: no counter could count gpt2: analytic: skipped: counts a forward pass only\n"
    assert train.out == ""
    assert cli("flops", "gpt2", "--mode", "train", "--counters", "analytic", "--strict").code == 3
    broken = cli("flops", f"{factories}:broken", "-f", "json")
    assert broken.code == 3
    assert "no counter could count" in broken.err and "this forward always fails" in broken.err
    assert broken.err.count("\n") == 1
    statuses = {name: c["status"] for name, c in broken.json()["counters"].items()}  # JSON still says what happened
    assert statuses == {"analytic": "skipped", "torch": "error", "fvcore": "error", "thop": "error",
                        "ptflops-pytorch": "error", "ptflops-aten": "error"}


def test_budget_file_inputs_and_defaults_that_apply(tmp_path, factories):
    budget = tmp_path / "modelprof.toml"
    budget.write_text(textwrap.dedent(f"""
        [defaults]
        seq_len = 64

        [models."{factories}:make"]
        inputs = {{ x = "2x8" }}
        max_forward_macs = 384

        [models."toy:mlp"]
        max_forward_macs = 235_000

        [models."gpt2"]
        max_forward_macs = "7.99G"

        [models."toy:rnn"]
        seq_len = 100
        batch = 4
        max_forward_macs = 22_942_720
    """))
    result = run_console("check", str(budget), "-f", "json")
    assert result.returncode == 0, result.stderr
    actual = {(c["model"], c["limit_key"]): c["actual"] for c in __import__("json").loads(result.stdout)["checks"]}
    assert actual[(f"{factories}:make", "max_forward_macs")] == 384
    # toy:mlp keeps its own 1x784 input (seq_len means nothing to it): 784·256 + 256·128 + 128·10
    assert actual[("toy:mlp", "max_forward_macs")] == 234_752
    assert actual[("gpt2", "max_forward_macs")] == 7_981_547_520  # seq_len 64 from [defaults]
    assert actual[("toy:rnn", "max_forward_macs")] == 22_942_720  # 4 x 100 steps, as in the test above
    explicit = tmp_path / "bad.toml"
    explicit.write_text('[models."toy:mlp"]\nseq_len = 64\nmax_params = 1\n')
    refused = run_console("check", str(explicit))
    assert refused.returncode == 2 and "--seq-len does not apply" in refused.stderr
