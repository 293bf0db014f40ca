"""Text and document models that read more than token ids: layout boxes and
page images, entities, global attention, language ids, xpaths. Each is fed
what its processor or tokenizer makes, so that every module with weights it
can reach does work (transformers' own default configs, torch counter on
fake tensors)."""

from __future__ import annotations

import pytest

from .test_configs import write_default_config


def count(cli, tmp_path, model_type: str, **changes) -> tuple[dict, dict]:
    """(input, torch counter) of ``flops --base --counters torch`` on the default config of ``model_type``."""
    folder = tmp_path / model_type
    write_default_config(folder, model_type, **changes)
    result = cli("flops", str(folder), "--base", "--counters", "torch", "-f", "json")
    assert result.code == 0, result.err
    payload = result.json()
    torch_json = payload["counters"]["torch"]
    assert torch_json["status"] == "ok", torch_json["reason"]
    return payload["input"], torch_json


def shapes(used: dict) -> dict:
    return {name: tensor["shape"] for name, tensor in used["tensors"].items()}


INPUTS = {
    "longformer": ({"global_attention_mask": [1, 128], "input_ids": [1, 128]},
                   "global_attention_mask: the first token (<s>) attends globally, as transformers' docs advise for "
                   "classification and LED summarisation; the others within attention_window"),
    "led": ({"global_attention_mask": [1, 128], "input_ids": [1, 128], "decoder_input_ids": [1, 128]},
            "global_attention_mask: the first token (<s>) attends globally, as transformers' docs advise for "
            "classification and LED summarisation; the others within attention_window"),
    "xmod": ({"lang_ids": [1, 128], "input_ids": [1, 128]},
             "lang_ids: every token in en_XX (language 0 of 1, the first the config lists); "
             "each token runs its language's adapter only"),
}


@pytest.mark.parametrize("model_type", sorted(INPUTS))
def test_every_module_runs_with_the_inputs_the_processor_makes(cli, tmp_path, model_type):
    tensors, note = INPUTS[model_type]
    used, counted = count(cli, tmp_path, model_type)
    assert shapes(used) == tensors
    assert note in used["notes"]
    assert counted["idle_modules"] == []


def test_luke_runs_its_entity_aware_attention_over_words_and_entities(cli, tmp_path):
    used, counted = count(cli, tmp_path, "luke")
    assert shapes(used) == {"entity_attention_mask": [1, 32], "entity_position_ids": [1, 32, 30], "entity_ids": [1, 32],
                            "input_ids": [1, 128]}
    assert "entity_ids: 32 entities per row, each a mention of one word token, its positions padded to 30 " \
           "(LukeTokenizer's max_entity_length and max_mention_length)" in used["notes"]
    assert counted["idle_modules"] == []  # entity_embedding_dense, w2e / e2w / e2e queries
    # t = 128 words + 32 entities, H 768, F 3072, 12 layers. Queries: words and entities each through two
    # (w2w and w2e, e2w and e2e): 2·t·H²; keys, values, output: 3·t·H²; scores and weighted sums over
    # all t² pairs: 2·t²·H; FFN 2·t·H·F
    t, h, f = 160, 768, 3072
    layer = 5 * t * h * h + 2 * t * t * h + 2 * t * h * f
    entities = 32 * 256 * h  # entity_emb_size 256 -> H
    assert counted["macs"] == 12 * layer + entities + h * h == 15_200_747_520  # + the pooler's H²


def test_a_cpu_build_keeps_the_weights_transformers_ties(tmp_path):
    from modelprof.models.build import build_model
    from modelprof.models.resolver import resolve

    folder = tmp_path / "udop"
    write_default_config(folder, "udop", num_layers=1, num_decoder_layers=1, d_model=16, d_ff=32, d_kv=4, num_heads=4,
                         vocab_size=64)
    model = build_model(resolve(str(folder)), device="cpu", base=True).module
    assert model.patch_embed.proj.weight is model.encoder.embed_patches.proj.weight
    assert model.shared.weight is model.encoder.embed_tokens.weight
