"""Audio-language inputs, planned from transformers' own default configs and
forward signatures (nothing is built): the audio placeholders in the text
are as many as the model makes of the real audio, and the masks beside the
features mark that audio."""

from __future__ import annotations

import inspect

import pytest

from modelprof.models.inputs import InputSpec
from modelprof.models.modalities import ModelFacts, plan


def facts_of(model_type: str) -> ModelFacts:
    """The facts ``facts_from_model`` would find, read off the class of the
    model ``AutoModel`` makes of the default config (not built)."""
    import transformers
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES

    config = AutoConfig.for_model(model_type)
    model = getattr(transformers, MODEL_MAPPING_NAMES[model_type])
    named = [p for p in inspect.signature(model.forward).parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    required = frozenset(p.name for p in named if p.default is inspect.Parameter.empty) - {"self"}
    main = getattr(model, "main_input_name", "input_ids")
    return ModelFacts(config.to_dict(), main, frozenset(p.name for p in named) - {"self"}, required)


def shapes(planned) -> dict:
    return {name: list(t.shape) for name, t in planned.tensors.items()}


@pytest.mark.parametrize(
    "model_type, mask, tokens",
    [
        # Whisper-style window of 3,000 frames, 1,000 of them audio: conv stride 2 (500), average pool 2 (250)
        ("qwen2_audio", "feature_attention_mask", 250),
        ("audioflamingo3", "input_features_mask", 250),
        # conv stride 2 (500), then 4 frames to a token: 125
        ("moss_transcribe_diarize", "input_features_mask", 125),
    ],
)
def test_placeholders_count_the_real_audio(model_type, mask, tokens):
    facts = facts_of(model_type)
    planned = plan(facts, InputSpec())
    token = facts.config.get("audio_token_id") or facts.config.get("audio_token_index")
    assert shapes(planned)["input_features"][-1] == 3000
    assert planned.tensors[mask].fill == ((1, 1000),)  # 10 s of 30 s are audio
    assert planned.tensors["input_ids"].shape == (1, tokens + 128)
    assert planned.tensors["input_ids"].fill == ((token, tokens),)


def test_audio_seconds_change_the_placeholders():
    planned = plan(facts_of("qwen2_audio"), InputSpec(audio_seconds=5, given=frozenset({"audio_seconds"})))
    assert planned.tensors["feature_attention_mask"].fill == ((1, 500),)
    assert planned.tensors["input_ids"].fill == ((151646, 125),)


def test_time_aligned_streams():
    # Voxtral Realtime adds one audio embedding per token: 1,000 frames / 8 per token
    assert shapes(plan(facts_of("voxtral_realtime"), InputSpec()))["input_ids"] == [1, 125]
    # Kyutai: 10 s at 24 kHz in steps of 1,920 samples, a text token and 32 codec tokens each
    assert shapes(plan(facts_of("kyutai_speech_to_text"), InputSpec()))["input_ids"] == [1, 125, 33]


def test_muse_spark_places_a_token_per_patched_waveform_step():
    # the audio tower folds the waveform in patches of 16, 6, 5 and 4 samples: 1,920 samples a token
    # (MuseSparkAudioConfig.samples_per_token); 10 s at 16 kHz padded to whole tokens: 84 x 1,920 = 161,280
    facts = facts_of("muse_spark")
    planned = plan(facts, InputSpec())
    assert shapes(planned)["input_values"] == [1, 161280]
    assert (200038, 84) in planned.tensors["input_ids"].fill  # audio_token_id, 161,280 / 1,920
    assert "input_ids hold 84 audio tokens (id 200038) per row" in planned.notes
