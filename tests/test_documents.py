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


def test_a_cpu_build_keeps_the_weights_transformers_ties(tmp_path):
    from modelprof.models.build import build_model
    from modelprof.models.resolver import resolve

    folder = tmp_path / "udop"
    write_default_config(folder, "udop", num_layers=1, num_decoder_layers=1, d_model=16, d_ff=32, d_kv=4, num_heads=4,
                         vocab_size=64)
    model = build_model(resolve(str(folder)), device="cpu", base=True).module
    assert model.patch_embed.proj.weight is model.encoder.embed_patches.proj.weight
    assert model.shared.weight is model.encoder.embed_tokens.weight
