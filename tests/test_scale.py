"""``modelprof scale``: exact polynomials in the sequence length, crossovers
per repeated layer under both attention conventions, decode, per-layer-type
complexity and plots."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .test_configs import write_default_config


def scale_json(cli, *args: str) -> dict:
    result = cli("scale", *args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def test_bert_base_follows_the_seed_polynomial_and_its_crossovers(cli):
    payload = scale_json(cli, "bert-base-uncased", "--base", "--seq-len", "128,256,512,1024")
    # 12·(12·n·H² + 2·n²·H) + H² with H = 768: 18,432·n² + 84,934,656·n + 589,824
    assert payload["polynomial"]["terms"] == {"0": 768**2, "1": 12 * 12 * 768**2, "2": 12 * 2 * 768}
    assert payload["polynomial"]["source"] == "analytic"
    cross = payload["crossovers"]
    assert cross["attention_over_ffn"] == 2 * 768 == 1536  # 4nH² + 2n²H = 8nH² at n = 2H
    assert cross["quadratic_over_linear"] == 6 * 768 == 4608  # 2n²H = 12nH² at n = 6H
    assert cross["linear_attention_same_d"] == 64 and cross["linear_attention_4d"] == 16 * 64 == 1024
    assert cross["attention_over_ffn_causal"] is None  # BERT is not causal: no causal variant
    text = cli("scale", "bert-base-uncased", "--base", "--seq-len", "128,256,512,1024")
    assert "MACs(n) = 12·(12·n·768² + 2·n²·768) + 768²" in text.out


def test_every_bert_point_equals_the_flops_counters_at_the_same_length(cli):
    payload = scale_json(cli, "bert-base-uncased", "--base", "--seq-len", "64,128,256,512")
    points = {p["n"]: p["macs"] for p in payload["points"]}
    # 12 layers' n² products 12·2·n²·768 at n = 64: 75,497,472 MACs; no convolution, no recurrence
    assert payload["points"][0]["parts"] | {"linear": 0} == {"linear": 0, "attention": 75_497_472, "conv": 0, "recurrent": 0}
    for n in (64, 512):
        flops = cli("flops", "bert-base-uncased", "--base", "--seq-len", str(n), "--counters", "analytic,torch", "-f", "json").json()
        assert flops["counters"]["analytic"]["macs"] == flops["counters"]["torch"]["macs"] == points[n]


@pytest.mark.parametrize(
    "name, full, causal",
    [
        # Llama-2-7b: H 4096, 32 heads of 128 (kv 32), F 11008. Per layer: projections 4·H² = 67,108,864·n,
        # products 2·h·d = 8,192·n², FFN 3·H·F = 135,266,304·n.
        #   attention > FFN at (135,266,304 − 67,108,864) / 8,192 = 8,320; n² > linear at (67,108,864 +
        #   135,266,304) / 8,192 = 24,704; halving the products doubles both: 16,640 and 49,408
        ("meta-llama/Llama-2-7b-hf", (8320, 24704), (16640, 49408)),
        # Mistral-7B: GQA with 8 KV heads: projections 2·H·(h·d) + 2·H·(kv·d) = 2·4096·4096 + 2·4096·1024 =
        #   41,943,040·n; FFN 3·4096·14336 = 176,160,768·n; products 8,192·n².
        #   (176,160,768 − 41,943,040) / 8,192 = 16,384; (41,943,040 + 176,160,768) / 8,192 = 26,624
        ("mistralai/Mistral-7B-v0.1", (16384, 26624), (32768, 53248)),
        # Gemma-7B: H 3072 but 16 heads of head_dim 256 (h·d = 4096 ≠ H), kv 16, F 24576.
        #   projections 4·3072·4096 = 50,331,648·n; products 2·16·256 = 8,192·n²; FFN 3·3072·24576 = 226,492,416·n
        #   (226,492,416 − 50,331,648) / 8,192 = 21,504; (50,331,648 + 226,492,416) / 8,192 = 33,792
        ("google/gemma-7b", (21504, 33792), (43008, 67584)),
    ],
)
def test_crossovers_move_with_gqa_gated_mlps_and_head_dim(cli, name, full, causal):
    cross = scale_json(cli, name, "--seq-len", "128,256,512,1024")["crossovers"]
    assert (cross["attention_over_ffn"], cross["quadratic_over_linear"]) == full
    assert (cross["attention_over_ffn_causal"], cross["quadratic_over_linear_causal"]) == causal


def test_a_sliding_window_gets_its_own_count_and_never_crosses_past_it(cli):
    payload = scale_json(cli, "mistralai/Mistral-7B-v0.1", "--seq-len", "128,256,512,8192")
    point = {p["n"]: p for p in payload["points"]}[8192]
    # windowed: each of 32 layers' products 8,192·n² become 8,192·n·w with w = 4,096
    assert point["alternatives"]["windowed"] == point["macs"] - 32 * 8192 * (8192**2 - 8192 * 4096)
    # full-attention thresholds 16,384 and 26,624 lie beyond the window: under it they never come
    assert payload["crossovers"]["attention_over_ffn_windowed"] is None
    assert payload["crossovers"]["quadratic_over_linear_windowed"] is None


def test_causal_half_switches_the_totals_and_is_labelled(cli):
    full = scale_json(cli, "meta-llama/Llama-2-7b-hf", "--seq-len", "1024,2048,4096")
    half = scale_json(cli, "meta-llama/Llama-2-7b-hf", "--seq-len", "1024,2048,4096", "--causal-half")
    assert (full["convention"], half["convention"]) == ("full", "causal-half")
    for f, h in zip(full["points"], half["points"]):
        n = f["n"]
        products = 32 * 8192 * n * n  # 32 layers x 2·h·d·n² products
        assert h["macs"] == f["macs"] - products // 2 == f["alternatives"]["causal-half"]
        assert h["alternatives"]["full"] == f["macs"]
    refused = cli("scale", "bert-base-uncased", "--causal-half")
    assert refused.code == 2 and "halves the attention products of causal models" in refused.err


def test_without_an_analytic_family_the_polynomial_is_fitted_and_verified(cli, tmp_path):
    folder = tmp_path / "falcon"
    write_default_config(folder, "falcon", hidden_size=64, num_attention_heads=4, num_hidden_layers=2, vocab_size=100)
    payload = scale_json(cli, str(folder), "--base", "--seq-len", "128,256,512,1024,2048,4096")
    poly = payload["polynomial"]
    assert poly["source"] == "torch-fit" and poly["fit_at"] == [128, 256, 512] and poly["verified_at"] == [2048, 4096]
    # 2 layers: fused multi-query qkv 64 -> 96 and dense 64 -> 64, MLP 64 -> 256 -> 64, products 2·n²·64
    #   2·(64·96 + 64·64 + 2·64·256)·n + 2·128·n² = 86,016·n + 256·n²
    assert poly["terms"] == {"1": 86016, "2": 256}
    counted = {p["n"]: p["counted"] for p in payload["points"]}
    assert counted == {128: True, 256: True, 512: True, 1024: False, 2048: True, 4096: True}
    # at lengths the fit never saw, the torch counter agrees with the polynomial
    for n in (1024, 1000):
        torch_json = cli("flops", str(folder), "--base", "--seq-len", str(n), "--counters", "torch", "-f", "json").json()
        assert torch_json["counters"]["torch"]["macs"] == 86016 * n + 256 * n * n


def test_decode_is_linear_in_the_context(cli):
    payload = scale_json(cli, "meta-llama/Llama-2-7b-hf", "--mode", "decode", "--context", "127,1023,4095")
    # one token: 32·(4·H² + 3·H·F + 2·H·(C + 1)) + H·V
    assert payload["polynomial"]["terms"] == {"0": 32 * (4 * 4096**2 + 3 * 4096 * 11008 + 2 * 4096) + 4096 * 32000,
                                              "1": 32 * 2 * 4096}
    assert {p["C"]: p["macs"] for p in payload["points"]}[4095] == 7_680_819_200


def test_layer_types_compare_exactly_in_length_and_width(cli):
    payload = scale_json(cli, "--compare", "toy:attention,toy:local-attention,toy:rnn,toy:conv1d", "--width", "64")
    found = {m["model"]: m for m in payload["models"]}
    # self-attention 4·n·d² + 2·n²·d; a window r = 8: 4·n·d² + 2·r·n·d; 2-layer RNN d -> d and a 10-way head:
    # 2·n·2d² + 10·d; sequence convolution, k = 3: 3·n·d²
    assert found["toy:attention"]["polynomial"]["terms"] == {"1,2": 4, "2,1": 2}
    assert found["toy:local-attention"]["polynomial"]["terms"] == {"1,2": 4, "1,1": 16}
    assert found["toy:rnn"]["polynomial"]["terms"] == {"1,2": 4, "0,1": 10}
    assert found["toy:conv1d"]["polynomial"]["terms"] == {"1,2": 3}
    assert {name: tuple(m["degrees"].values()) for name, m in found.items()} == {
        "toy:attention": (2, 2), "toy:local-attention": (1, 2), "toy:rnn": (1, 2), "toy:conv1d": (1, 2)}
    assert [m["complexity"] for m in payload["models"]] == ["n²·d", "r·n·d", "n·d²", "k·n·d²"]
    attention = found["toy:attention"]["points"][0]
    assert attention["macs"] == 4 * 128 * 64**2 + 2 * 128**2 * 64  # n = 128 at d = 64


def test_plots_are_drawn_in_the_terminal_and_written_to_files(cli, tmp_path):
    shown = cli("scale", "bert-base-uncased", "--base", "--seq-len", "128:2048", "--plot")
    assert shown.code == 0 and "sequence length n (tokens)" in shown.out and "| self-attention > FFN: 1,536" in shown.out
    picture = tmp_path / "bert.png"
    written = cli("scale", "bert-base-uncased", "--base", "--plot", str(picture))
    assert written.code == 0 and picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    vector = tmp_path / "layers.svg"
    assert cli("scale", "--compare", "toy:attention,toy:rnn", "--plot", str(vector)).code == 0
    assert "<svg" in vector.read_text()
    wrong = cli("scale", "bert-base-uncased", "--plot", str(tmp_path / "bert.gif"))
    assert wrong.code == 2 and "must end in .png or .svg" in wrong.err


def test_without_the_plot_extra_plotting_says_how_to_install_it(cli, monkeypatch):
    import importlib.util

    from modelprof.cli import plots

    real = importlib.util.find_spec
    monkeypatch.setattr(plots.importlib.util, "find_spec", lambda name: None if name in ("plotext", "matplotlib") else real(name))
    result = cli("scale", "bert-base-uncased", "--plot")
    assert result.code == 2 and 'pip install "modelprof[plot]"' in result.err and result.out == ""


@pytest.mark.parametrize(
    "args, message",
    [
        (["bert-base-uncased", "--seq-len", "128:abc"], "expected lengths like 128,512,2048"),
        (["bert-base-uncased", "--context", "128"], "--context applies to --mode decode"),
        (["toy:mlp"], "takes no sequence"),
        (["bert-base-uncased", "--mode", "decode"], "counts a decoder-only model's next token; this model is not one"),
        (["--compare", "toy:mlp"], "--compare takes sequence toys"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, message):
    result = cli("scale", *args)
    assert result.code == 2, result.out
    assert message in result.err and result.err.count("\n") == 1


def test_an_analytic_scale_never_imports_torch():
    code = (
        "import sys\n"
        "from modelprof.cli.app import run\n"
        "assert run(['scale', 'meta-llama/Llama-2-70b-hf', '-f', 'json']) == 0\n"
        "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["polynomial"]["source"] == "analytic" and len(payload["points"]) >= 9


def test_a_deep_model_is_fitted_on_shallow_builds_and_agrees_with_its_closed_forms(cli, tmp_path):
    # 24 alike layers: the torch counter counts 1-, 2- and 3-layer builds at each length and extrapolates
    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64,
              "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 100,
              "num_hidden_layers": 24}
    (tmp_path / "config.json").write_text(json.dumps(config))
    lengths = ("--seq-len", "16,32,64,128,256")
    torch_fit = scale_json(cli, str(tmp_path), *lengths, "--counter", "torch")
    closed = scale_json(cli, str(tmp_path), *lengths)
    assert torch_fit["polynomial"]["source"] == "torch-fit" and closed["polynomial"]["source"] == "analytic"
    # 24·((2·64·64 + 2·64·32 + 3·64·128)·n + 2·4·16·n²) + 64·100·n
    assert torch_fit["polynomial"]["terms"] == closed["polynomial"]["terms"] == {"1": 24 * 36864 + 6400, "2": 24 * 128}


def test_a_training_step_halves_the_products_of_both_passes(cli, tmp_path):
    folder = tmp_path / "falcon"
    write_default_config(folder, "falcon", hidden_size=64, num_attention_heads=4, num_hidden_layers=2, vocab_size=100)
    payload = scale_json(cli, str(folder), "--base", "--mode", "train", "--seq-len", "16,32,64,128")
    point = payload["points"][-1]
    products = 2 * 2 * 64 * 128**2  # 2 layers x 2·h·d·n² forward products at n = 128
    assert point["parts"]["attention"] == products
    assert point["parts"]["backward"] == 2 * (point["parts"]["linear"] + products)  # both operands' gradients
    # causal half: the forward products and the backward's two passes over them, all halved
    assert point["alternatives"]["causal-half"] == point["macs"] - 3 * products // 2
