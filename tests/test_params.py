"""`modelprof params`: the BERT-base-Chinese breakdown, tree invariants, tied weights,
trainable/frozen, dtypes and output formats."""

from __future__ import annotations

import csv
import io
import textwrap

import pytest

from modelprof.models.build import build_model
from modelprof.models.resolver import resolve
from modelprof.profilers.params import count_parameters


def by_path(payload: dict) -> dict:
    return {m["path"]: m for m in payload["modules"]}


def test_bert_base_chinese_breakdown(cli):
    result = cli("params", "bert-base-chinese", "--base", "--depth", "3", "--format", "json")
    assert result.code == 0, result.err
    payload = result.json()
    rows = by_path(payload)
    assert payload["model"]["class"] == "BertModel"
    assert payload["params"]["total"] == 102_267_648
    # word 21128*768 + position 512*768 + token type 2*768 + LayerNorm 2*768
    assert rows["embeddings"]["params"] == 16_226_304 + 393_216 + 1_536 + 1_536 == 16_622_592
    assert rows["encoder"]["params"] == 12 * 7_087_872 == 85_054_464
    assert rows["pooler"]["params"] == 768 * 768 + 768 == 590_592
    assert rows["encoder.layer.0"]["params"] == 7_087_872
    # (768*64 + 64)*3*12 + (768*768 + 768) + 2*768
    assert rows["encoder.layer.0.attention"]["params"] == 1_771_776 + 592_128 == 2_363_904
    assert rows["encoder.layer.0.intermediate"]["params"] == 768 * 3072 + 3072 == 2_362_368
    assert rows["encoder.layer.0.output"]["params"] == 3072 * 768 + 768 + 2 * 768 == 2_361_600
    assert rows["encoder.layer.0"]["depth"] == 2 and rows["encoder.layer.0.attention"]["depth"] == 3
    assert "encoder.layer.0.attention.self" not in rows  # depth 4
    # 102,267,648 * 4 bytes = 390.12 MiB
    assert payload["params"]["bytes_by_dtype"]["fp32"] == 409_070_592


def test_bert_base_chinese_breakdown_in_the_table(cli):
    result = cli("params", "bert-base-chinese", "--base", "--depth", "3")
    assert result.code == 0
    for figure in ("102,267,648", "16,622,592", "85,054,464", "590,592", "7,087,872", "2,363,904", "2,362,368", "2,361,600"):
        assert figure in result.out
    assert "encoder.layer.0.attention" in result.out
    assert "390.12 MiB" in result.out


@pytest.mark.parametrize("name", ["bert-base-uncased", "gpt2", "t5-small", "google/vit-base-patch16-224", "toy:cnn", "toy:lstm"])
def test_totals_match_numel_and_children_sum_to_parent(name):
    module = build_model(resolve(name)).module
    report = count_parameters(module)
    assert report.total == sum(p.numel() for p in module.parameters())
    rows = report.modules
    for i, row in enumerate(rows):
        children = []
        for later in rows[i + 1 :]:
            if later.depth <= row.depth:
                break
            if later.depth == row.depth + 1:
                children.append(later)
        if children:
            assert sum(c.params for c in children) == row.params, row.path


def test_tied_weights_are_counted_once_and_marked(cli):
    payload = cli("params", "gpt2", "--depth", "1", "-f", "json").json()
    # 50257*768 + 1024*768 + 12*(12*768^2 + 13*768) + 2*768; lm_head shares wte
    assert payload["params"]["total"] == 124_439_808
    rows = by_path(payload)
    assert rows["lm_head"]["params"] == 0
    assert rows["lm_head"]["tied"] == ["weight -> transformer.wte.weight"]
    # the shared tensor: 50257 x 768
    assert payload["tied"] == [{"param": "lm_head.weight", "same_as": "transformer.wte.weight", "params": 38_597_376}]


def test_untied_head_is_counted(cli):
    payload = cli("params", "llama-2-7b", "--depth", "1", "-f", "json").json()
    rows = by_path(payload)
    assert rows["lm_head"]["params"] == 32000 * 4096
    assert payload["tied"] == []
    # embedding = the token embedding only; the untied head is not an nn.Embedding
    assert payload["params"]["embedding"] == 32000 * 4096
    assert payload["params"]["non_embedding"] == 6_738_415_616 - 32000 * 4096


def test_dtype_bytes(cli):
    default = cli("params", "llama-2-7b", "-d", "0", "-f", "json").json()["params"]
    assert default["dtype"] == "fp16"  # the config's torch_dtype
    assert default["bytes"] == 6_738_415_616 * 2
    for dtype, width in (("fp32", 4), ("bf16", 2), ("fp16", 2), ("int8", 1)):
        params = cli("params", "llama-2-7b", "-d", "0", "--dtype", dtype, "-f", "json").json()["params"]
        assert params["dtype"] == dtype
        assert params["bytes"] == 6_738_415_616 * width


FROZEN_FACTORY = """
import torch.nn as nn

def make():
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))
    for p in model[0].parameters():
        p.requires_grad_(False)
    return model
"""


def test_trainable_and_frozen(tmp_path, cli):
    source = tmp_path / "frozen.py"
    source.write_text(textwrap.dedent(FROZEN_FACTORY))
    payload = cli("params", f"{source}:make", "-f", "json").json()
    # frozen 10*20 + 20 = 220, trainable 20*5 + 5 = 105
    assert payload["params"]["total"] == 325
    assert payload["params"]["trainable"] == 105
    assert payload["params"]["frozen"] == 220
    assert by_path(payload)["0"]["trainable"] == 0


def test_direct_parameters_get_their_own_rows():
    module = build_model(resolve("google/vit-base-patch16-224"), base=True).module
    rows = {m.path: m for m in count_parameters(module).modules}
    # ViTEmbeddings owns cls_token [1,1,768] and position_embeddings [1,197,768] directly
    assert rows["embeddings.cls_token"].params == 768
    assert rows["embeddings.position_embeddings"].params == 197 * 768
    assert rows["embeddings.position_embeddings"].embedding == 197 * 768
    assert rows["embeddings"].params == 768 + 197 * 768 + (3 * 16 * 16 * 768 + 768)


def test_csv_and_markdown(cli):
    out = cli("params", "toy:tanh-net", "-f", "csv").out
    table = list(csv.DictReader(io.StringIO(out)))
    assert [(r["path"], r["params"]) for r in table] == [("", "3145728"), ("linear1", "1048576"), ("linear2", "2097152")]
    assert table[2]["trainable"] == "2097152"  # CSV keeps every column
    markdown = cli("params", "toy:tanh-net", "-f", "markdown").out
    # nothing is frozen: a trainable column would repeat params (the notes say "frozen 0")
    assert "| linear2 | Linear | 2,097,152 | 66.7% | 8.00 MiB |" in markdown.splitlines()
    assert "- total 3,145,728 params · trainable 3,145,728 · frozen 0" in markdown.splitlines()


def test_frozen_parameters_get_a_trainable_column(tmp_path, cli):
    path = tmp_path / "frozen.py"
    path.write_text(textwrap.dedent(FROZEN_FACTORY))
    markdown = cli("params", f"{path}:make", "-f", "markdown").out.splitlines()
    assert "| module | type | params | share | trainable | size (fp32) |" in markdown
    # 325 params x 4 B = 1,300 B; 105 of them trainable
    assert "| (root) | Sequential | 325 | 100.0% | 105 | 1.27 KiB |" in markdown
    assert "- total 325 params · trainable 105 · frozen 220" in markdown


def test_show_empty_lists_parameterless_modules(cli):
    plain = by_path(cli("params", "toy:mlp", "-f", "json").json())
    full = by_path(cli("params", "toy:mlp", "-f", "json", "--show-empty").json())
    assert "blocks.1" not in plain and full["blocks.1"]["type"] == "ReLU"


def test_mixture_of_experts_shows_active_params_by_default(cli):
    """Mixtral-8x7B, built on meta: 46,702,792,704 params, of which one token uses
    12,879,925,248 (2 of 8 experts: the published "12.9B active")."""
    payload = cli("params", "mistralai/Mixtral-8x7B-v0.1", "-d", "0", "-f", "json").json()
    assert payload["params"]["total"] == 46_702_792_704
    assert payload["params"]["active"] == 12_879_925_248
    table = cli("params", "mistralai/Mixtral-8x7B-v0.1", "-d", "0").out
    assert "active per token (mixture of experts, top-k routed + shared): 12,879,925,248" in table
    assert "active" not in cli("params", "gpt2", "-d", "0", "-f", "json").json()["params"]  # dense
