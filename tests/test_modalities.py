"""Inputs by modality: every tower of a model is fed, from its forward
signature and config (transformers' own default configs, built on meta)."""

from __future__ import annotations

import pytest

from .test_configs import write_default_config


def count(cli, folder, *options):
    payload = cli("flops", str(folder), "--base", "--counters", "torch", *options, "-f", "json").json()
    return payload["input"], payload["counters"]["torch"]


@pytest.mark.parametrize(
    "model_type, tensors, note",
    [
        # a dual encoder: text and image towers both run; CLIP's positions stop at 77
        ("clip", {"pixel_values": [1, 3, 224, 224], "input_ids": [1, 77]}, "sequence length 77: the model's max_position_embeddings (default 128)"),
        ("siglip", {"pixel_values": [1, 3, 224, 224], "input_ids": [1, 64]}, "sequence length 64: the model's max_position_embeddings (default 128)"),
        # speech to text: 80 log-mel bins over the encoder's fixed 30 s window (2 x 1500 positions), then the decoder
        ("whisper", {"input_features": [1, 80, 3000], "decoder_input_ids": [1, 128]}, "input_features: 80 mel bins x 3,000 frames (30 s, the encoder's fixed window)"),
        # a raw waveform: 10 s at 16 kHz
        ("wav2vec2", {"input_values": [1, 160000]}, "input_values: 10 s of audio at 16,000 Hz"),
    ],
)
def test_every_tower_runs(tmp_path, cli, model_type, tensors, note):
    folder = tmp_path / model_type
    write_default_config(folder, model_type)
    used, torch_json = count(cli, folder)
    assert torch_json["status"] == "ok", torch_json["reason"]
    assert {name: t["shape"] for name, t in used["tensors"].items()} == tensors
    assert note in used["notes"]
    assert torch_json["idle_modules"] == []  # no tower left out


def test_audio_seconds(tmp_path, cli):
    folder = tmp_path / "wav2vec2"
    write_default_config(folder, "wav2vec2")
    used, five = count(cli, folder, "--audio-seconds", "5")
    assert used["tensors"]["input_values"]["shape"] == [1, 80_000]
    _, ten = count(cli, folder)
    assert ten["macs"] > five["macs"] > 0
    refused = cli("flops", "gpt2", "--audio-seconds", "5")
    assert refused.code == 2 and "--audio-seconds does not apply" in refused.err


def test_an_input_nothing_can_make_up_is_named(tmp_path, cli):
    # a video tracker's forward reads a session object that holds its frames
    folder = tmp_path / "sam2_video"
    write_default_config(folder, "sam2_video")
    result = cli("flops", str(folder), "--base", "--counters", "torch")
    assert result.code == 2
    assert "the model's forward needs 'inference_session', which modelprof cannot make up; pass it with --input inference_session=SHAPE[:DTYPE]" in result.err
    # the parameters need no inputs
    assert cli("params", str(folder), "--base", "-f", "json").code == 0
