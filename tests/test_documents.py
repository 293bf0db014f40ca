"""Text and document models that read more than token ids: layout boxes and
page images, entities, global attention, language ids, xpaths. Each is fed
what its processor or tokenizer makes, so that every module with weights it
can reach does work (transformers' own default configs, torch counter on
fake tensors)."""

from __future__ import annotations

import pytest

from .test_configs import write_default_config
from .test_coverage_sample import shapes


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


GRID_BOXES = "bbox: one box of 4 coordinates per token, on the 0-1000 grid; zeros (box values change no MAC)"

INPUTS = {
    # one box per token; LayoutLM and LiLT run whole without theirs too (the model makes zero boxes)
    "layoutlm": ({"bbox": [1, 128, 4], "input_ids": [1, 128]}, GRID_BOXES),
    "lilt": ({"bbox": [1, 128, 4], "input_ids": [1, 128]}, GRID_BOXES),
    # the page at input_size 224 in 16-px patches: 196 patches and a class token after the 128 text tokens
    "layoutlmv3": ({"bbox": [1, 128, 4], "pixel_values": [1, 3, 224, 224], "input_ids": [1, 128]},
                   "pixel_values: the page at 224x224 (input_size), 196 patches and a class token after the text"),
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


def test_bros_reads_a_box_of_eight_coordinates_per_token(cli, tmp_path):
    used, counted = count(cli, tmp_path, "bros")
    assert shapes(used) == {"bbox": [1, 128, 8], "input_ids": [1, 128]}  # dim_bbox 8: the 4 corners' (x, y)
    assert "bbox: one box of 8 coordinates per token, in [0, 1], scaled by bbox_scale 100; zeros (box values change no MAC)" \
        in used["notes"]
    assert counted["idle_modules"] == []
    # BERT-base shape, n 128, H 768, F 3072, 12 heads of 64, 12 layers. The boxes' pairwise offsets [n, n]
    # are embedded in H/4 = 192 sinusoids and projected to a head's 64 (n²·192·64); every layer adds the
    # scores of each query against those offsets, heads·n²·64 = n²·H, to the n²·H of q·kᵀ
    n, h, f = 128, 768, 3072
    layer = 4 * n * h * h + 3 * n * n * h + 2 * n * h * f
    assert counted["macs"] == 12 * layer + n * n * 192 * 64 + h * h == 11_526_537_216  # + the pooler's H²


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


def test_udop_reads_boxes_and_the_page_and_its_decoder_never_embeds_patches(cli, tmp_path):
    used, counted = count(cli, tmp_path, "udop")
    assert shapes(used) == {"pixel_values": [1, 3, 224, 224], "bbox": [1, 128, 4], "input_ids": [1, 128],
                            "decoder_input_ids": [1, 128]}
    assert GRID_BOXES in used["notes"]
    # data-dependent patch selection: counted on real CPU tensors, where patch_embed stays tied to the
    # encoder's embed_patches; every UdopStack builds embed_patches, but UdopModel gives the decoder no image
    assert counted["notes"][-1].startswith("counted on real CPU tensors")
    assert counted["idle_modules"] == ["decoder.embed_patches.proj"]


def test_markuplm_reads_xpaths_and_never_calls_one_of_its_layers(cli, tmp_path):
    used, counted = count(cli, tmp_path, "markuplm")
    assert shapes(used) == {"xpath_tags_seq": [1, 128, 50], "xpath_subs_seq": [1, 128, 50], "input_ids": [1, 128]}
    assert "xpath_tags_seq, xpath_subs_seq: an empty xpath of 50 levels per token (tag_pad_id 216, subs_pad_id 1001)" \
        in used["notes"]
    # XPathEmbeddings builds xpath_unitseq2_embeddings but its forward goes through xpath_unitseq2_inner
    assert counted["idle_modules"] == ["embeddings.xpath_embeddings.xpath_unitseq2_embeddings"]


def test_a_cpu_build_keeps_the_weights_transformers_ties(tmp_path):
    from modelprof.models.build import build_model
    from modelprof.models.resolver import resolve

    folder = tmp_path / "udop"
    write_default_config(folder, "udop", num_layers=1, num_decoder_layers=1, d_model=16, d_ff=32, d_kv=4, num_heads=4,
                         vocab_size=64)
    model = build_model(resolve(str(folder)), device="cpu", base=True).module
    assert model.patch_embed.proj.weight is model.encoder.embed_patches.proj.weight
    assert model.shared.weight is model.encoder.embed_tokens.weight
