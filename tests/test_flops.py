"""`modelprof flops`: closed-form truth on toy nets, what each tool prints for
bert-base-uncased (measured with the versions the README lists), training
steps, memory skips, isolation of failing counters and the absence of
leftovers."""

from __future__ import annotations

import textwrap

import pytest

from modelprof.models.inputs import InputSpec
from modelprof.profilers.pipeline import profile_flops

# --------------------------------------------------------------------------
# closed forms on toy nets (torch counter = FlopCounterMode on fake meta tensors)
# --------------------------------------------------------------------------

# n tokens, d width; per layer of a recurrent net with g gate sets: g * n * (d_in*d + d*d)
TOY_TRUTH = {
    # 1024*1024 + 1024*2048
    "toy:tanh-net": {"linear": 3_145_728},
    # 784*256 + 256*128 + 128*10
    "toy:mlp": {"linear": 200_704 + 32_768 + 1_280},
    # conv: k^2 * C_in * C_out * H * W: 9*3*16*32*32 + 9*16*32*16*16; classifier 32*10
    "toy:cnn": {"conv": 442_368 + 1_179_648, "linear": 320},
    # 1 gate set, n = 32: 32*(64*128 + 128^2) + 32*(128*128 + 128^2); head 128*10
    "toy:rnn": {"recurrent": 786_432 + 1_048_576, "linear": 1_280},
    # 3 gate sets
    "toy:gru": {"recurrent": 3 * (786_432 + 1_048_576), "linear": 1_280},
    # 4 gate sets
    "toy:lstm": {"recurrent": 4 * (786_432 + 1_048_576), "linear": 1_280},
    # self-attention, n = 64, d = 256: projections 4*n*d^2, scores + weighted sum 2*n^2*d
    "toy:attention": {"linear": 4 * 64 * 256**2, "attention": 2 * 64**2 * 256},
    # restricted attention, window r = 8, n = 64, d = 128: 4*n*d^2 + 2*r*n*d
    "toy:local-attention": {"linear": 4 * 64 * 128**2, "attention": 2 * 8 * 64 * 128},
    # 2 layers of 4*n*d^2 + 2*n*d*ff (ff = 512) + 2*n^2*d, n = 64, d = 128
    "toy:transformer": {"linear": 2 * (4 * 64 * 128**2 + 2 * 64 * 128 * 512), "attention": 2 * 2 * 64**2 * 128},
}


def by_category(result, name: str) -> dict[str, int]:
    split: dict[str, int] = {}
    for record in result.results[name].records:
        if record.macs:
            split[record.op] = split.get(record.op, 0) + record.macs
    return split


@pytest.mark.parametrize("toy", sorted(TOY_TRUTH))
def test_torch_counter_matches_closed_forms(toy):
    result = profile_flops(toy, counters=["torch"])
    assert by_category(result, "torch") == TOY_TRUTH[toy]
    torch_result = result.results["torch"]
    assert torch_result.flops == 2 * sum(TOY_TRUTH[toy].values())
    assert torch_result.printed == torch_result.flops  # FlopCounterMode prints FLOPs


def test_tanh_net_every_counter_agrees():
    result = profile_flops("toy:tanh-net")
    assert set(result.results) == {"analytic", "torch", "fvcore", "thop", "ptflops-pytorch", "ptflops-aten"}
    for name, counted in result.results.items():
        assert counted.ok, (name, counted.reason)
        assert counted.macs == 3_145_728 and counted.flops == 6_291_456, name
        assert counted.other_ops == 0
    root = result.table.rows[0]
    assert root.reference == 3_145_728 and root.findings == {}
    # the tanh / sigmoid nobody counts are reported as such
    fvcore = {(u.op, u.calls) for u in result.results["fvcore"].uncounted}
    assert fvcore == {("aten::tanh", 2), ("aten::sigmoid", 1)}
    torch_seen = {(u.op, u.category, u.calls) for u in result.results["torch"].uncounted}
    assert torch_seen == {("aten.tanh", "activation", 2), ("aten.sigmoid", "activation", 1)}


def test_tanh_net_table_shows_units_and_uncounted(cli):
    result = cli("flops", "toy:tanh-net")
    assert result.code == 0
    assert "printed 6,291,456 FLOPs -> 3,145,728 MACs = 6,291,456 FLOPs" in result.out
    assert 'printed 3,145,728 "flops" -> 3,145,728 MACs' in result.out  # fvcore's label, really MACs
    assert "ran but not counted: aten::tanh x2, aten::sigmoid x1" in result.out
    assert result.err == ""  # no progress display when stderr is not a terminal


# --------------------------------------------------------------------------
# bert-base-uncased, batch 1, seq 128 (the README's "One model, six counters, one table")
# --------------------------------------------------------------------------

# linear: 12 layers x 12*n*H^2 + pooler H^2 (one token) = 12*12*128*768^2 + 768^2
BERT_LINEAR = 12 * 12 * 128 * 768**2 + 768**2
# attention matmuls: 12 layers x 2*n^2*H
BERT_ATTENTION = 12 * 2 * 128**2 * 768


@pytest.fixture(scope="module")
def bert_sdpa():
    return profile_flops("bert-base-uncased", base=True, spec=InputSpec(seq_len=128))


def test_bert_reference_split(bert_sdpa):
    assert BERT_LINEAR == 10_872_225_792 and BERT_ATTENTION == 301_989_888
    assert bert_sdpa.table.reference == "analytic"
    assert bert_sdpa.results["torch"].macs == bert_sdpa.reference.macs == 11_174_215_680
    assert bert_sdpa.reference.flops == 22_348_431_360
    assert by_category(bert_sdpa, "torch") == {"linear": BERT_LINEAR, "attention": BERT_ATTENTION}
    assert by_category(bert_sdpa, "analytic") == {"linear": BERT_LINEAR, "attention": BERT_ATTENTION}


def test_bert_other_tools_as_they_print(bert_sdpa):
    printed = {name: r.printed for name, r in bert_sdpa.results.items()}
    assert printed == {
        "analytic": 11_174_215_680,
        "torch": 22_348_431_360,
        "fvcore": 10_884_513_792,  # linear + layer_norm, SDPA lost
        "thop": 10_882_056_192,
        "ptflops-pytorch": 10_885_300_992,
        "ptflops-aten": 10_882_843_392,
    }
    assert bert_sdpa.results["thop"].params == 85_646_592
    # every tool's printed total = its MACs + its other ops, in MAC units
    for name, counted in bert_sdpa.results.items():
        per_mac = 2 if counted.native_unit == "flop" else 1
        assert counted.printed == per_mac * counted.macs + counted.other_ops, name


def test_bert_every_difference_is_explained(bert_sdpa):
    root = bert_sdpa.table.rows[0]
    reasons = root.reasons
    assert set(reasons) == {"fvcore", "thop", "ptflops-pytorch", "ptflops-aten"}
    assert "misses attention MACs (-301,989,888)" in reasons["fvcore"]
    assert "aten::scaled_dot_product_attention x12" in reasons["fvcore"]
    assert "12,288,000 non-MAC ops (norm)" in reasons["fvcore"]
    assert "module hooks never see functional matmuls" in reasons["thop"]
    assert "reports 85,646,592 params, the model has 109,482,240" in reasons["thop"]
    assert "Embedding x3 (23,835,648)" in reasons["thop"]
    # ptflops' addmm formula adds batch*out per linear: 128 tokens x (12 x 6912 + 768 / 128) ...
    assert "counts the bias adds of linear layers as MACs (+10,617,600)" in reasons["ptflops-aten"]
    assert "_scaled_dot_product_flash_attention_for_cpu" in reasons["ptflops-aten"]
    for name in reasons:
        values = root.values[name]
        assert values != root.reference or bert_sdpa.results[name].other_ops


def test_bert_rows_follow_params_paths(bert_sdpa):
    rows = {row.path: row for row in bert_sdpa.table.rows}
    assert set(rows) == {"", "embeddings", "encoder", "pooler"}
    assert rows["pooler"].reference == 768 * 768  # one token through the pooler
    assert rows["encoder"].reference == BERT_LINEAR - 768 * 768 + BERT_ATTENTION
    assert rows[""].params == 109_482_240


def test_bert_eager_matches_what_the_tools_print():
    result = profile_flops("bert-base-uncased", base=True, attn="eager", counters=["torch", "fvcore", "ptflops"])
    printed = {name: r.printed for name, r in result.results.items()}
    assert printed == {
        "torch": 22_348_431_360,
        "fvcore": 11_186_503_680,
        "ptflops-pytorch": 11_189_650_176,
        "ptflops-aten": 11_184_833_280,
    }
    fvcore = result.results["fvcore"]
    assert fvcore.macs == 11_174_215_680 and fvcore.other_ops == 12_288_000  # layer_norm, 25 x 5 x 128 x 768 / ...
    assert "misses attention" not in result.table.rows[0].reasons.get("fvcore", "")


def test_bert_train_step_measured(cli):
    result = cli("flops", "bert-base-uncased", "--base", "--seq-len", "128", "--mode", "train", "--counters", "torch", "-f", "json")
    assert result.code == 0, result.err
    torch_json = result.json()["counters"]["torch"]
    # forward 22,348,431,360 + backward 2 x (forward - pooler 2*768^2): the loss is the last hidden state
    assert torch_json["flops"] == 67_042_934_784
    assert torch_json["phases"]["forward"]["flops"] == 22_348_431_360
    assert torch_json["phases"]["backward"]["flops"] == 2 * (22_348_431_360 - 2 * 768**2)
    table = cli("flops", "bert-base-uncased", "--base", "--mode", "train", "--counters", "torch").out
    assert "6·N·T = 84,082,360,320" in table  # 6 x 109,482,240 x 128
    assert "forward 22,348,431,360 FLOPs + backward 44,694,503,424 = 67,042,934,784 FLOPs" in table
    # forward MACs by module (all non-negative), the backward pass once, for the whole model
    rows = {row["path"]: row for row in result.json()["rows"]}
    assert rows["encoder"]["reference"] == BERT_LINEAR - 768 * 768 + BERT_ATTENTION
    assert rows["pooler"]["reference"] == 768 * 768
    assert rows[""]["reference"] == 67_042_934_784 // 2
    assert "backward 22,347,251,712 + linear 10,872,225,792 + attention 301,989,888" in " ".join(table.split())


def test_train_mode_skips_forward_only_counters():
    result = profile_flops("toy:mlp", mode="train", counters=["torch", "thop"])
    assert result.results["thop"].status == "skipped"
    assert result.results["thop"].reason == "counts a forward pass only"
    # the input needs no gradient, so the first layer has no grad-input product
    torch_result = result.results["torch"]
    forward = 234_752
    assert torch_result.phases == {"forward": forward, "backward": 2 * forward - 784 * 256}


def test_llama_70b_real_tensor_counters_skip_with_memory_reason():
    # under 8 GiB not even its 3-layer build fits (3 x 856 M layer params x 4 B = 10 GB): nothing is extrapolated
    result = profile_flops("meta-llama/Llama-2-70b-hf", spec=InputSpec(seq_len=128), max_memory=8 << 30)
    torch_result = result.results["torch"]
    assert torch_result.ok
    # 80 layers x (2*8192^2 + 2*8192*1024 + 3*8192*28672) + 8192*32000 per token, x 128, + 80 x 2 x 128^2 x 8192
    assert torch_result.macs == 128 * (80 * (2 * 8192**2 + 2 * 8192 * 1024 + 3 * 8192 * 28672) + 8192 * 32000) + 80 * 2 * 128**2 * 8192
    for name in ("fvcore", "thop", "ptflops-pytorch", "ptflops-aten"):
        skipped = result.results[name]
        assert skipped.status == "skipped"
        assert "68,976,648,192 params x 4 B" in skipped.reason and "GiB" in skipped.reason


def test_max_memory_caps_real_counters(cli):
    payload = cli("flops", "toy:mlp", "--max-memory", "1MiB", "-f", "json").json()
    counters = payload["counters"]
    assert counters["torch"]["status"] == "ok"
    assert {counters[n]["status"] for n in ("fvcore", "thop", "ptflops-pytorch", "ptflops-aten")} == {"skipped"}
    # 235,146 params x 4 B + 256 x 784 input floats x 4 B + 768 MiB allowance = 769.66 MiB
    assert counters["fvcore"]["reason"] == (
        "needs about 769.66 MiB of real fp32 tensors (235,146 params x 4 B + activations), "
        "over the --max-memory cap of 1.00 MiB"
    )


# --------------------------------------------------------------------------
# isolation: crashing, hanging and failing counters
# --------------------------------------------------------------------------

MISBEHAVING = """
import os, signal, time
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, action):
        super().__init__()
        self.fc = nn.Linear(8, 4)
        self.action = action

    def forward(self, x):
        if x.device.type == "cpu":  # real tensors: only the real-tensor counters get here
            if self.action == "crash":
                os.kill(os.getpid(), signal.SIGSEGV)
            if self.action == "hang":
                time.sleep(3600)
        if self.action == "untraceable" and torch.jit.is_tracing():
            raise RuntimeError("this model cannot be traced")
        return self.fc(x)

def crash():
    return Net("crash"), torch.zeros(2, 8)

def hang():
    return Net("hang"), torch.zeros(2, 8)

def untraceable():
    return Net("untraceable"), torch.zeros(2, 8)
"""


@pytest.fixture
def misbehaving(tmp_path):
    path = tmp_path / "misbehaving.py"
    path.write_text(textwrap.dedent(MISBEHAVING))
    return path


def test_crashing_counters_do_not_take_the_others_down(misbehaving, cli):
    result = cli("flops", f"{misbehaving}:crash", "-f", "json")
    assert result.code == 0
    counters = result.json()["counters"]
    assert counters["torch"]["status"] == "ok" and counters["torch"]["macs"] == 2 * 8 * 4
    for name in ("fvcore", "thop", "ptflops-pytorch", "ptflops-aten"):
        assert counters[name]["status"] == "error"
        assert "crashed with SIGSEGV" in counters[name]["reason"]
        assert counters[name]["macs"] is None
    strict = cli("flops", f"{misbehaving}:crash", "--strict", "-f", "json")
    assert strict.code == 3
    assert "counter(s) failed: fvcore, thop, ptflops-pytorch, ptflops-aten" in strict.err


def test_hanging_counter_is_stopped(misbehaving):
    result = profile_flops(f"{misbehaving}:hang", counters=["torch", "thop"], timeout_s=3)
    assert result.results["torch"].ok
    assert result.results["thop"].status == "error"
    assert result.results["thop"].reason == "timed out after 3 s"


def test_one_failing_counter_leaves_the_rest(misbehaving):
    result = profile_flops(f"{misbehaving}:untraceable")
    assert result.results["fvcore"].status == "error"
    assert "cannot be traced" in result.results["fvcore"].reason
    for name in ("torch", "thop", "ptflops-pytorch", "ptflops-aten"):
        assert result.results[name].ok, name
    assert result.table.rows[0].values["fvcore"] is None


# --------------------------------------------------------------------------
# nothing left behind
# --------------------------------------------------------------------------


def snapshot(model):
    """Everything a counting tool could leave on a model."""
    return [
        (
            path,
            sorted(vars(module)),
            {name: sorted(getattr(module, name)) for name in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks")},
            sorted(module._buffers),
            module.training,
        )
        for path, module in model.named_modules()
    ]


def global_functions():
    import torch
    import torch.nn.functional as F
    from ptflops import pytorch_ops
    from torch.nn.modules import module as module_globals

    return (
        [getattr(F, name) for name in ("relu", "gelu", "softmax", "silu", "linear", "interpolate")]
        + [getattr(torch, name) for name in ("matmul", "mm", "bmm", "addmm", "baddbmm", "mul", "add")]
        + [getattr(torch.Tensor, name) for name in ("matmul", "mm", "bmm", "mul", "add")]
        + [dict(pytorch_ops.FUNCTIONAL_MAPPING), dict(pytorch_ops.TENSOR_OPS_MAPPING), dict(pytorch_ops.MODULES_MAPPING)]
        + [len(module_globals._global_forward_hooks), len(module_globals._global_forward_pre_hooks)]
    )


@pytest.mark.parametrize("name", ["torch", "fvcore", "thop", "ptflops-pytorch", "ptflops-aten"])
@pytest.mark.parametrize("model", ["toy:transformer", "bert-base-uncased"])
def test_counters_leave_no_hooks_buffers_or_patches(name, model):
    from modelprof.models.resolver import resolve
    from modelprof.profilers.counters import CountJob, get_counter
    from modelprof.profilers.counters.harness import prepare

    counter = get_counter(name)
    job = CountJob(resolve(model), InputSpec(seq_len=16), base=True)
    prepared = prepare(job, "cpu" if counter.real_tensors else "meta")
    before, functions = snapshot(prepared.model), global_functions()
    result = counter.measure(prepared, job)  # in this very process, on this model
    assert result.ok and result.macs > 0
    assert snapshot(prepared.model) == before
    assert global_functions() == functions


# --------------------------------------------------------------------------
# output contract and options
# --------------------------------------------------------------------------


def test_json_contract(cli):
    payload = cli("flops", "toy:attention", "-f", "json").json()
    assert payload["schema_version"] == 1
    assert set(payload) >= {"model", "input", "mode", "counters", "reference", "rows"}
    assert payload["model"] == {"name": "toy:attention", "source": "toy", "class": "SelfAttention", "location": "toy:attention"}
    assert payload["input"]["tensors"] == {"arg0": {"shape": [1, 64, 256], "dtype": "float32"}}
    assert payload["mode"] == "forward"
    assert set(payload["counters"]) == {"analytic", "torch", "fvcore", "thop", "ptflops-pytorch", "ptflops-aten"}
    for counter in payload["counters"].values():
        assert set(counter) >= {"native_unit", "status", "reason", "macs", "flops", "other_ops", "params", "seconds"}
        assert counter["flops"] == 2 * counter["macs"]
    assert payload["counters"]["torch"]["native_unit"] == "flop"
    assert payload["counters"]["thop"]["native_unit"] == "mac"
    # 4*64*256^2 + 2*64^2*256
    assert payload["reference"] == {"counter": "analytic", "macs": 18_874_368, "flops": 37_748_736}
    root = payload["rows"][0]
    assert set(root) >= {"path", "op", "values", "reference", "reasons"}
    assert root["path"] == "" and root["values"]["thop"] == 4 * 64 * 256**2
    assert "misses attention MACs (-2,097,152)" in root["reasons"]["thop"]


def test_by_operator_view(cli):
    payload = cli("flops", "toy:cnn", "--by", "op", "-f", "json", "--counters", "torch,fvcore").json()
    rows = {row["op"]: row for row in payload["rows"]}
    assert rows["conv"]["reference"] == 442_368 + 1_179_648
    assert rows["linear"]["reference"] == 320
    assert rows["norm"]["other_ops"]["fvcore"] > 0 and rows["norm"]["reference"] == 0


def test_fused_fast_path_is_explained():
    result = profile_flops("toy:transformer", counters=["torch", "fvcore"])
    reason = result.table.rows[0].reasons["fvcore"]
    assert "aten::_native_multi_head_attention" in reason
    assert "did no work it could count" in reason and "a fused kernel ran instead of their forward" in reason


@pytest.mark.parametrize(
    "args, message",
    [
        (["--counters", "torhc"], "unknown counter 'torhc'"),
        (["--attn", "flash"], "Invalid value for '--attn'"),
        (["--input-shape", "1,x"], "--input-shape"),
        (["--max-memory", "lots"], "--max-memory"),
        (["--seq-len", "1024"], "exceeds the model's max_position_embeddings = 512"),
    ],
)
def test_bad_options_exit_2(cli, args, message):
    result = cli("flops", "bert-base-uncased", *args)
    assert result.code == 2 and message in result.err and result.err.count("\n") == 1


def test_reference_split_and_attention_in_the_table(cli):
    out = cli("flops", "bert-base-uncased", "--base", "--counters", "analytic,torch").out
    assert out.splitlines()[0].endswith("input_ids 1x128 · forward · attention: default")
    assert "Reference (analytic): 11,174,215,680 MACs = linear 10,872,225,792 + attention 301,989,888; " \
           "FLOPs = 2 x MACs = 22,348,431,360" in out
    eager = cli("flops", "bert-base-uncased", "--base", "--counters", "analytic", "--attn", "eager").out
    assert eager.splitlines()[0].endswith("· attention: eager")


class FakeTerminal:
    """A stderr that says it is a terminal and keeps what is written."""

    def __init__(self):
        self.written = []

    def isatty(self):
        return True

    def write(self, text):
        self.written.append(text)
        return len(text)

    def flush(self):
        pass


def test_progress_shows_on_a_terminal_only(monkeypatch):
    from modelprof.cli.progress import progress_line

    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with progress_line(True, "flops toy:mlp") as on_progress:
        assert "flops toy:mlp  starting" in "".join(terminal.written)  # before anything is imported or built
        on_progress("build", "running", 2.0)
        assert "building the model 2 s" in "".join(terminal.written)
        on_progress("build", "done", 2.4)
        on_progress("torch", "running", 1.0)
        on_progress("torch", "done", 1.2)
        on_progress("fvcore", "skipped", 0.0)
    shown = "".join(terminal.written)
    assert "torch 1 s" in shown and "torch ✓" in shown and "fvcore –" in shown
    with progress_line(False, "flops toy:mlp") as on_progress:  # json / csv output
        assert on_progress is None
    monkeypatch.setattr("sys.stderr", FakeTerminal())
    monkeypatch.setattr(FakeTerminal, "isatty", lambda self: False)
    with progress_line(True, "flops toy:mlp") as on_progress:  # not a terminal
        assert on_progress is None


def test_tied_weights_counted_twice_are_explained():
    """t5-small ties shared, encoder.embed_tokens, decoder.embed_tokens and
    lm_head (one 32128 x 512 tensor = 16,449,536 params); gpt2 ties lm_head to
    wte (50257 x 768 = 38,597,376). The real-tensor build keeps them tied."""
    t5 = profile_flops("t5-small", counters=["analytic", "thop", "ptflops-pytorch"])
    reasons = t5.table.rows[0].reasons
    # ptflops counts model.parameters(), which yields the tied tensor once
    assert t5.results["ptflops-pytorch"].params == 60_506_624 and "params" not in reasons["ptflops-pytorch"]
    # thop: no rule for Embedding (shared 16,449,536 + 2 relative-position tables of 32 x 8) nor T5LayerNorm
    # (32 x 512), but lm_head is a Linear: 60,506,624 - 16,450,048 - 16,384 + 16,449,536 = 60,489,728
    assert reasons["thop"].endswith(
        "reports 60,489,728 params, the model has 60,506,624: it attributes none to Embedding x3 (16,450,048), "
        "T5LayerNorm x32 (16,384); it counts tied weights again where they are shared: lm_head.weight (16,449,536)"
    )
    gpt2 = profile_flops("gpt2", counters=["analytic", "thop", "ptflops-aten"])
    assert gpt2.results["ptflops-aten"].params == 124_439_808
    # thop: lm_head (38,597,376) and 25 LayerNorms (25 x 1,536 = 38,400); no rule for Conv1D nor Embedding
    assert gpt2.results["thop"].params == 38_597_376 + 38_400
    assert gpt2.table.rows[0].reasons["thop"].endswith(
        "it counts tied weights again where they are shared: lm_head.weight (38,597,376)"
    )


def test_markdown_notes_are_a_list_not_code(cli):
    """Indented note lines become nested list items under CommonMark, never
    indented code blocks (the same text goes to $GITHUB_STEP_SUMMARY)."""
    from markdown_it import MarkdownIt

    text = cli("flops", "toy:tanh-net", "--counters", "analytic,torch,fvcore", "-f", "markdown").out
    tokens = MarkdownIt("commonmark").parse(text)
    assert not [t for t in tokens if t.type in ("code_block", "fence")]
    items = [t.content for t in tokens if t.type == "inline"]
    assert "fvcore: printed 3,145,728 \"flops\" -> 3,145,728 MACs = 6,291,456 FLOPs" in " ".join(items)
    assert "ran but not counted: aten::tanh x2, aten::sigmoid x1" in items
    nested = [t for t in tokens if t.type == "bullet_list_open" and t.level > 0]
    assert nested  # the per-counter details sit under their counter


def test_one_line_for_counters_skipped_alike(cli):
    out = cli("flops", "toy:mlp", "--mode", "train").out
    assert "  analytic, fvcore, thop, ptflops-pytorch, ptflops-aten: skipped: counts a forward pass only" in out
    assert out.count("counts a forward pass only") == 1
    assert 'Rule of thumb (Kaplan et al. 2020, "Scaling Laws for Neural Language Models")' in out


def test_zero_memory_cap_is_named_as_the_cap(cli):
    payload = cli("flops", "toy:mlp", "--max-memory", "0", "--counters", "torch,thop", "-f", "json").json()
    assert payload["counters"]["thop"]["reason"].endswith("over the --max-memory cap of 0 B")


IDLE_FACTORY = """
import torch
import torch.nn as nn

class TwoTowers(nn.Module):
    def __init__(self):
        super().__init__()
        self.text = nn.Linear(8, 8)
        self.vision = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(4, 8))  # never reached by text inputs
        self.mixer = nn.Linear(8, 8)  # never called: its weight is used directly below (as Mamba does)

    def forward(self, x, pixels=None):
        out = torch.nn.functional.linear(self.text(x), self.mixer.weight)
        if pixels is not None:
            out = out + self.vision(pixels)
        return out

def make():
    return TwoTowers(), torch.zeros(1, 8)
"""


def test_modules_that_did_no_work_are_named(tmp_path, cli):
    path = tmp_path / "towers.py"
    path.write_text(IDLE_FACTORY)
    payload = cli("flops", f"{path}:make", "--counters", "torch", "-f", "json").json()
    torch_json = payload["counters"]["torch"]
    assert torch_json["macs"] == 128  # text 1·8·8, then the mixer's weight 1·8·8
    assert torch_json["idle_modules"] == ["vision.0", "vision.1"]
    # Conv2d(3, 4, 3): 108 + 4; Linear(4, 8): 32 + 8
    assert torch_json["notes"] == ["2 module(s) with weights (152 params) did no countable work in this run: vision.0, vision.1"]
    table = cli("flops", f"{path}:make", "--counters", "torch").out
    assert "did no countable work in this run: vision.0, vision.1" in table
    # a CNN's 4-D conv weights are no expert bank: nothing is claimed where everything ran
    assert cli("flops", "toy:cnn", "--counters", "torch", "-f", "json").json()["counters"]["torch"]["notes"] == []


TIED_FACTORY = """
import torch
import torch.nn as nn

class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(8, 8, bias=False)
        self.second = nn.Linear(8, 8, bias=False)
        self.second.weight = self.first.weight  # one tensor, two modules (Zamba 2 ties its shared blocks so)

    def forward(self, x):
        return self.first(x)

def make():
    return Tied(), torch.zeros(1, 8)
"""


def test_a_module_whose_tied_weights_did_work_elsewhere_is_not_idle(tmp_path, cli):
    path = tmp_path / "tied.py"
    path.write_text(TIED_FACTORY)
    torch_json = cli("flops", f"{path}:make", "--counters", "torch", "-f", "json").json()["counters"]["torch"]
    assert torch_json["macs"] == 64  # 1·8·8, through "first" only
    assert torch_json["idle_modules"] == []  # "second" never ran, but its one weight did the work


DATA_DEPENDENT_FACTORY = """
import torch
import torch.nn as nn

class Routed(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        keep = int((x >= 0).sum().item())  # a value fake tensors do not have
        return self.fc(x[:, :keep] if keep == x.shape[1] else x)

def make():
    return Routed(), torch.zeros(2, 4, 8)
"""


def test_data_dependent_models_count_on_real_tensors(tmp_path, cli):
    path = tmp_path / "routed.py"
    path.write_text(DATA_DEPENDENT_FACTORY)
    torch_json = cli("flops", f"{path}:make", "--counters", "torch", "-f", "json").json()["counters"]["torch"]
    assert torch_json["status"] == "ok"
    assert torch_json["macs"] == 2 * 4 * 8 * 8  # B·n·8·8
    assert torch_json["notes"][-1].startswith("counted on real CPU tensors: fake tensors cannot run this model (")
    assert "DataDependentOutputException" in torch_json["notes"][-1]
    capped = cli("flops", f"{path}:make", "--counters", "torch", "--max-memory", "1MiB", "-f", "json").json()
    assert capped["counters"]["torch"]["status"] == "error"
    assert "real tensors instead: needs about" in capped["counters"]["torch"]["reason"]


EINSUM_FACTORY = """
import torch

class Bilinear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.empty(16, 32))

    def forward(self, x):
        return torch.einsum("bi,ij->bj", x, self.w)

def make():
    return Bilinear(), torch.zeros(8, 16)
"""


def test_counts_are_whole_numbers_in_json_whatever_type_a_tool_answers_in(tmp_path, cli):
    path = tmp_path / "bilinear.py"
    path.write_text(EINSUM_FACTORY)
    counters = cli("flops", f"{path}:make", "--counters", "torch,fvcore", "-f", "json").json()["counters"]
    # 8·16·32 = 4,096 MACs; fvcore's einsum rule answers it as the float 4096.0
    for name in ("torch", "fvcore"):
        assert counters[name]["status"] == "ok", counters[name]
        assert counters[name]["macs"] == 4096 and type(counters[name]["macs"]) is int
