"""Audio-language models: an audio tower's features put into the text at
placeholder tokens (speech LLMs), and the masks and lengths that go with
the audio features into such a model.

A processor pads a clip to the window its encoder expects and marks the
real frames in a mask; the model encodes the features, keeps the frames the
mask marks and puts one of them at each audio placeholder token of the text,
checking that their numbers agree. So the placeholders here are counted
from the real audio exactly as the model counts its output frames (its
``_get_feat_extract_output_lengths`` or ``get_audio_features``, mirrored by
its processor), one rule per way of downsampling (:func:`counts_audio`),
each picked by the config field that drives it.

Models that add the audio to every text position instead (a time-aligned
stream) get token ids as long as the audio: see :func:`aligned_ids` and
:func:`codebook_ids`. Phi-4-multimodal's audio and image crops, CLAP's
spectrogram "image" and the encoder states a word-timestamp head reads are
here too: the inputs of speech models that no other modality makes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

from . import (ModelFacts, Placeholders, Planned, Predicate, TensorPlan, builder, builds, is_encoder_decoder, placeholders,
               takes_audio, tower)
from .audio import MEL_FRAMES_PER_SECOND, audio_seconds
from .text import input_ids as text_ids, text_length

AUDIO_TOKEN_FIELDS = ("audio_token_id", "audio_token_index")
AUDIO_INPUTS = ("input_features", "input_values", "audio_input_features")  # what an audio tower reads
WAVEFORMS = ("input_values",)
MEL_FIELDS = ("num_mel_bins", "input_feat_per_channel", "input_size")
FRAME_MASKS = ("input_features_mask", "feature_attention_mask", "audio_attention_mask")  # which feature frames are audio
# masks and lengths over the audio a forward may take, planned with the audio placeholders
AUDIO_MASKS = (*FRAME_MASKS, "padding_mask", "audio_embed_sizes")
NOT_AUDIO = ("text_config", "vision_config")  # sub-configs never searched for audio settings


def setting(facts: ModelFacts, name: str):
    """Config field ``name``: the config's own value, else the first
    sub-config's that sets it (depth first; text and vision configs aside),
    else None."""

    def search(config: Mapping):
        if config.get(name) is not None:
            return config[name]
        for key, value in config.items():
            if isinstance(value, Mapping) and key not in NOT_AUDIO:
                found = search(value)
                if found is not None:
                    return found
        return None

    return search(facts.config)


def audio_token(facts: ModelFacts) -> int | None:
    """The id of the audio placeholder token (the config's, or its audio tower's)."""
    found = (setting(facts, field) for field in AUDIO_TOKEN_FIELDS)
    return next((token for token in found if isinstance(token, int) and not isinstance(token, bool)), None)


def places_audio(facts: ModelFacts) -> bool:
    """Whether the model puts audio features at placeholder tokens of its
    text: it has an audio token and its forward takes audio and token ids."""
    return audio_token(facts) is not None and "input_ids" in facts.accepts and any(n in facts.accepts for n in AUDIO_INPUTS)


def feeds_audio_tower(facts: ModelFacts) -> bool:
    """Models whose audio tower is described by another config than
    ``audio_config`` (``encoder_config``, a tokenizer's, the model's own) and
    whose forward reads it beside token ids: audio put at placeholders that
    a rule here can count (see :func:`counts_audio`), or a
    sequence-to-sequence model whose encoder reads speech or text
    (SeamlessM4T)."""
    counted = places_audio(facts) and counting(facts) is not None
    return counted or (is_encoder_decoder(facts.config) and takes_audio(facts.config))


for _name in AUDIO_INPUTS:
    tower(_name, feeds_audio_tower)


# --- the audio: its input and its real length ---------------------------------


@dataclass(frozen=True)
class Clip:
    """One clip of the planned audio input: the input's name, its rows along
    time (feature frames, or samples of a waveform) and how many of them are
    audio rather than padding."""

    name: str
    rows: int
    real: int


def clip(facts: ModelFacts, spec, planned: Planned) -> Clip | None:
    """The clip of the audio input planned so far (planned now, on scratch,
    when it is not yet), or None when the forward takes no audio. Feature
    frames are audio for ``--audio-seconds`` (100 a second), the rest of a
    fixed window padding, unless the forward takes no mask to tell them
    apart: then every frame reaches the text."""
    name = next((n for n in AUDIO_INPUTS if n in planned.tensors), None) or next(
        (n for n in AUDIO_INPUTS if n in facts.accepts), None
    )
    if name is None:
        return None
    audio = planned.tensors.get(name)
    if audio is None:  # its masks marked as planned, so that building it here plans nothing else
        audio = builder(facts, name).build(facts, spec, Planned(spec, facts, tensors=dict.fromkeys(AUDIO_MASKS)))
    rows = audio.shape[_time_axis(facts, name, audio.shape)]
    if name in WAVEFORMS or not any(mask in facts.accepts for mask in FRAME_MASKS):
        return Clip(name, rows, rows)
    return Clip(name, rows, min(rows, math.ceil(audio_seconds(spec) * MEL_FRAMES_PER_SECOND)))


def _time_axis(facts: ModelFacts, name: str, shape: tuple[int, ...]) -> int:
    """Which axis of the audio input runs along time: a waveform's last;
    features [B, mels, frames] when the second axis holds the config's mel
    bins, else [B, frames, ...] ([B, channels, frames, mels] for 4-D ones)."""
    if name in WAVEFORMS:
        return len(shape) - 1
    if len(shape) == 4:
        return 2
    found = (setting(facts, field) for field in MEL_FIELDS)
    mels = next((value for value in found if value is not None), None)
    return 2 if len(shape) == 3 and shape[1] == mels else 1


# --- how many tokens one clip becomes -------------------------------------------

Count = Callable[[ModelFacts, Clip], int]
_COUNTS: list[tuple[Predicate, Count]] = []


def counts_audio(when: Predicate):
    """Register how many audio tokens one clip becomes, for the models
    ``when`` picks (the first registered that applies wins)."""

    def register(count: Count) -> Count:
        _COUNTS.append((when, count))
        return count

    return register


def counting(facts: ModelFacts) -> Count | None:
    """The rule that counts ``facts``' audio tokens (None when none applies)."""
    return next((count for when, count in _COUNTS if when(facts)), None)


def audio_token_count(facts: ModelFacts, audio: Clip) -> int | None:
    count = counting(facts)
    return count(facts, audio) if count else None


def _strided(length: int, stride: int = 2) -> int:
    """Frames out of a stride-``stride`` convolution (kernel 3, padding 1 for stride 2)."""
    return (length - 1) // stride + 1


@counts_audio(lambda facts: setting(facts, "n_window") is not None and setting(facts, "downsample_hidden_size") is not None)
def chunked_convolutions(facts: ModelFacts, audio: Clip) -> int:
    """Qwen3-ASR / Qwen3-Omni: the frames split into chunks of 2·``n_window``,
    each through three stride-2 convolutions (modeling_qwen3_asr.py,
    ``_get_feat_extract_output_lengths``; an empty remainder gives none)."""
    chunk = 2 * setting(facts, "n_window")
    whole, rest = divmod(audio.real, chunk)
    per_chunk = _strided(_strided(_strided(chunk)))
    last = _strided(_strided(_strided(rest))) if rest else 0
    return whole * per_chunk + last


@counts_audio(lambda facts: setting(facts, "audio_merge_size") is not None)
def merged_frames(facts: ModelFacts, audio: Clip) -> int:
    """MOSS-Transcribe-Diarize: one stride-2 convolution, then groups of
    ``audio_merge_size`` frames, the last one zero-padded
    (modeling_moss_transcribe_diarize.py, ``get_audio_features``)."""
    merge = setting(facts, "audio_merge_size")
    return math.ceil(_strided(audio.real) / merge)


@counts_audio(lambda facts: setting(facts, "subsampling_factor") is not None)
def stacked_frames(facts: ModelFacts, audio: Clip) -> int:
    """Nemotron 3.5 Transcribe: ``subsampling_factor`` frames stacked into one,
    the last group zero-padded (``Nemotron3_5TranscribeAudioModel._get_feat_extract_output_lengths``)."""
    return math.ceil(audio.real / setting(facts, "subsampling_factor"))


@counts_audio(lambda facts: setting(facts, "time_reduction") is not None)
def reduced_frames(facts: ModelFacts, audio: Clip) -> int:
    """Phi-4-multimodal: the conformer keeps one frame in ``time_reduction``,
    the projector one in ``downsample_rate``, each rounding up
    (``Phi4MultimodalFeatureExtractor._compute_audio_embed_size``)."""
    reduced = math.ceil(audio.real / setting(facts, "time_reduction"))
    return math.ceil(reduced / (setting(facts, "downsample_rate") or 1))


@counts_audio(lambda facts: setting(facts, "window_size") is not None and setting(facts, "downsample_rate") is not None)
def windowed_queries(facts: ModelFacts, audio: Clip) -> int:
    """Granite Speech: the Q-Former projector reads windows of
    ``window_size`` encoder frames and answers ``window_size //
    downsample_rate`` queries for each (``GraniteSpeechEncoderProjector``)."""
    window = setting(facts, "window_size")
    return math.ceil(audio.real / window) * (window // setting(facts, "downsample_rate"))


@counts_audio(lambda facts: setting(facts, "num_stacked_frames") is not None)
def frame_per_token(facts: ModelFacts, audio: Clip) -> int:
    """Fun-ASR-Nano: every (low frame rate) feature row becomes one token
    (``FunAsrNanoProcessor``: the mask's sum)."""
    return audio.real


@counts_audio(lambda facts: setting(facts, "conv_kernel") is not None and setting(facts, "conv_stride") is not None)
def convolved_samples(facts: ModelFacts, audio: Clip) -> int:
    """A wav2vec2-style convolutional front end over the waveform: each layer
    (kernel k, stride s, no padding) keeps (n - k) // s + 1 frames
    (``OmniASRProcessor._get_num_audio_tokens``)."""
    length = audio.real
    for kernel, stride in zip(setting(facts, "conv_kernel"), setting(facts, "conv_stride")):
        length = (length - kernel) // stride + 1
    return length


@counts_audio(lambda facts: setting(facts, "downsampling_ratios") is not None)
def tokenized_samples(facts: ModelFacts, audio: Clip) -> int:
    """VibeVoice: the acoustic tokenizer makes one latent per hop (the product
    of its ``downsampling_ratios``), rounding up (``get_audio_features``)."""
    return math.ceil(audio.real / math.prod(setting(facts, "downsampling_ratios")))


@counts_audio(lambda facts: setting(facts, "patch_sizes") is not None and any(n in facts.accepts for n in WAVEFORMS))
def patched_samples(facts: ModelFacts, audio: Clip) -> int:
    """Muse Spark: the audio tower folds the waveform in patches of
    ``patch_sizes`` samples, one stage after another, into one token per
    their product (``MuseSparkAudioConfig.samples_per_token``; the processor's
    ``replace_audio_token`` rounds up)."""
    return math.ceil(audio.real / math.prod(setting(facts, "patch_sizes")))


@counts_audio(lambda facts: setting(facts, "max_source_positions") is not None)
def pooled_frames(facts: ModelFacts, audio: Clip) -> int:
    """Whisper-style encoders with a pooled output (Qwen2-Audio,
    Qwen2.5-Omni, Audio Flamingo 3, Music Flamingo): a stride-2 convolution,
    then an average pool of 2 (``_get_feat_extract_output_lengths`` of their
    audio towers)."""
    return (_strided(audio.real) - 2) // 2 + 1


@counts_audio(lambda facts: setting(facts, "num_mel_bins") is not None and setting(facts, "intermediate_size") is not None)
def packed_frames(facts: ModelFacts, audio: Clip) -> int:
    """GLM-ASR, a Whisper-style encoder without a position table (rotary
    positions; so not :func:`pooled_frames`): a stride-2 convolution, then
    the projector reads frames packed ``intermediate_size // hidden_size`` to
    a row (modeling_glmasr.py, ``get_audio_features``)."""
    audio_config = facts.sub("audio_config")
    pack = audio_config["intermediate_size"] // audio_config["hidden_size"]
    return (_strided(audio.real) - pack) // pack + 1


@placeholders
def audio_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The audio placeholder token once per audio feature of a clip, as the
    model counts its encoder's output frames."""
    token = audio_token(facts)
    if token is None or not places_audio(facts) or not any(name in planned.tensors for name in AUDIO_INPUTS):
        return None
    count = audio_token_count(facts, clip(facts, planned.spec, planned))
    return Placeholders(token, count, "audio") if count else None


@builds("input_ids", "audio-language", when=places_audio)
def audio_text_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Token ids holding the audio placeholders (see :func:`audio_tokens`),
    planned with the masks over the audio the forward takes: they say which
    frames are real, which the placeholders count."""
    if any(name in planned.tensors for name in AUDIO_INPUTS):
        for mask in AUDIO_MASKS:
            planned.add(mask)
    return text_ids(facts, spec, planned)


# --- time-aligned streams: one text token per audio step --------------------------


def adds_audio_per_token(facts: ModelFacts) -> bool:
    """Models that add one audio embedding to every token (Voxtral Realtime):
    the config says how many feature frames make one token."""
    return isinstance(facts.config.get("audio_length_per_tok"), int) and "input_ids" in facts.accepts


@builds("input_ids", "audio-language", when=adds_audio_per_token)
def aligned_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Token ids [B, frames // ``audio_length_per_tok``]: the audio embeddings
    are added to the token embeddings one for one, so the text is as long as
    the audio (``VoxtralRealtimeModel.forward``); ``--seq-len`` does not apply."""
    audio = clip(facts, spec, planned)
    n = audio.rows // facts.config["audio_length_per_tok"]
    planned.notes.append(f"input_ids: {n:,} tokens, one per {facts.config['audio_length_per_tok']} feature frames (the audio is added to each)")
    planned.tokens += spec.batch * n
    return TensorPlan((spec.batch, n), "int64")


def streams_codebooks(facts: ModelFacts) -> bool:
    """Models whose token ids carry, at every step, a text token and one token
    per codebook of an audio codec (Kyutai speech-to-text)."""
    return all(isinstance(facts.config.get(k), int) for k in ("num_codebooks", "codebook_vocab_size", "frame_size"))


@builds("input_ids", "audio-language", when=streams_codebooks)
def codebook_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Token ids [B, steps, 1 + ``num_codebooks``]: per codec frame of
    ``frame_size`` samples at the codec's sampling rate, the text token and
    the codec's tokens, whose embeddings are summed
    (``KyutaiSpeechToTextEmbeddings``); ``--audio-seconds`` of them."""
    rate = setting(facts, "sampling_rate")
    steps = max(int(audio_seconds(spec) * rate) // facts.config["frame_size"], 1)
    streams = 1 + facts.config["num_codebooks"]
    planned.notes.append(f"input_ids: {steps:,} steps of {audio_seconds(spec):g} s ({rate:,} Hz, {facts.config['frame_size']:,} samples a step), each a text token and {streams - 1} codec tokens")
    planned.tokens += spec.batch * steps
    return TensorPlan((spec.batch, steps, streams), "int64")


# --- masks and lengths beside the audio ------------------------------------------


def _real_rows(facts: ModelFacts, spec, planned: Planned, dtype: str) -> TensorPlan:
    """[B, rows] of the audio input: ones over its real rows, zeros over padding."""
    audio = clip(facts, spec, planned)
    if audio.real < audio.rows:
        planned.notes.append(f"{audio.name}: {audio.real:,} of {audio.rows:,} frames are audio, the rest padding")
    return TensorPlan((spec.batch, audio.rows), dtype, ((1, audio.real),))


@builds("input_features_mask", "audio-language", when=lambda facts: places_audio(facts) and counting(facts) is windowed_queries)
def projected_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Granite Speech's mask is over the projector's outputs [B, tokens]
    (``GraniteSpeechFeatureExtractor``: one per audio feature), all true."""
    count = windowed_queries(facts, clip(facts, spec, planned))
    return TensorPlan((spec.batch, count), "bool", ((1, count),))


@builds("input_features_mask", "audio-language", when=places_audio)
def input_features_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The processor's mask over the feature frames [B, frames]: ones over
    ``--audio-seconds`` of them, zeros over a fixed window's padding."""
    return _real_rows(facts, spec, planned, "int64")


@builds("feature_attention_mask", "audio-language")
def feature_attention_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Qwen2-Audio's and Qwen-Omni's name for the mask over the feature frames."""
    return _real_rows(facts, spec, planned, "int64")


@builds("audio_attention_mask", "audio-language")
def audio_attention_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Phi-4-multimodal's mask over its audio frames [B, frames] (bool)."""
    return _real_rows(facts, spec, planned, "bool")


@builds("padding_mask", "audio-language", when=lambda facts: any(n in facts.accepts for n in WAVEFORMS))
def padding_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The mask over a waveform's samples [B, samples]: all of them audio."""
    return _real_rows(facts, spec, planned, "bool")


@builds("audio_embed_sizes", "audio-language")
def audio_embed_sizes(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Audio tokens of each clip [B] (Phi-4-multimodal's processor gives them
    beside the features)."""
    count = audio_token_count(facts, clip(facts, spec, planned))
    return TensorPlan((spec.batch,), "int64", values=(count,) * spec.batch)


# --- Phi-4-multimodal: audio frames and image crops in one embedding ---------------


@builds("audio_input_features", "audio-language")
def frames_first_features(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Phi-4-multimodal's log-mel features [B, frames, ``input_size``]:
    ``--audio-seconds`` of 10 ms frames (Phi4MultimodalFeatureExtractor)."""
    frames = math.ceil(audio_seconds(spec) * MEL_FRAMES_PER_SECOND)
    mels = setting(facts, "input_size")
    planned.notes.append(f"audio_input_features: {audio_seconds(spec):g} s of audio as {frames:,} frames of {mels} mel bins")
    planned.tokens += spec.batch * frames
    return TensorPlan((spec.batch, frames, mels), "float32")


def takes_image_crops(facts: ModelFacts) -> bool:
    """Phi-4-multimodal reads its images as crops of the vision config's
    ``crop_size`` (``image_pixel_values``, beside ``image_sizes`` and a mask)."""
    return "image_pixel_values" in facts.accepts and isinstance(facts.sub("vision_config").get("crop_size"), int)


tower("image_pixel_values", takes_image_crops)


def crop_grid(facts: ModelFacts, spec) -> tuple[int, int, int]:
    """(crops per side, crop side, mask side) of one square image of
    ``--image-size`` (default: the vision ``image_size``): the processor
    resizes it to whole crops (``Phi4MultimodalImageProcessor.dynamic_preprocess``)
    and masks each crop in patches."""
    vision = facts.sub("vision_config")
    crop = vision["crop_size"]
    side = spec.image_size or vision.get("image_size") or crop
    return math.ceil(side / crop), crop, crop // vision["patch_size"]


@builds("image_pixel_values", "vision-language", when=takes_image_crops)
def image_crops(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Images [B, 1 + n², C, crop, crop]: the whole image at one crop's size,
    then its n x n crops."""
    per_side, crop, _ = crop_grid(facts, spec)
    crops = 1 + per_side * per_side
    planned.notes.append(f"image_pixel_values: the image and its {per_side}x{per_side} crops of {crop}x{crop}")
    planned.tokens += spec.batch * crops * (crop // facts.sub("vision_config")["patch_size"]) ** 2
    planned.add("image_sizes")
    planned.add("image_attention_mask")
    return TensorPlan((spec.batch, crops, facts.sub("vision_config").get("num_channels", 3), crop, crop), "float32")


@builds("image_sizes", "vision-language", when=takes_image_crops)
def cropped_image_sizes(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """(height, width) of each image as resized to whole crops [B, 2]."""
    per_side, crop, _ = crop_grid(facts, spec)
    return TensorPlan((spec.batch, 2), "int64", values=(per_side * crop, per_side * crop) * spec.batch)


@builds("image_attention_mask", "vision-language", when=takes_image_crops)
def crop_patch_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Ones over every patch of every crop [B, 1 + n², m, m]: a square image
    resized to whole crops has no padding."""
    per_side, _, mask = crop_grid(facts, spec)
    crops = 1 + per_side * per_side
    return TensorPlan((spec.batch, crops, mask, mask), "bool", ((1, mask),))


@placeholders
def crop_image_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The image token (the vision config's ``image_token_id``) once per image
    feature: the crops' patches pooled 2 x 2 to b x b each, the whole image's
    b rows and the crops' n·b rows each with a row separator, and one between
    them (``Phi4MultimodalImageEmbedding.forward``)."""
    token = facts.sub("vision_config").get("image_token_id")
    if "image_pixel_values" not in planned.tensors or not isinstance(token, int):
        return None
    per_side, _, mask = crop_grid(facts, planned.spec)
    pooled = math.ceil(mask / 2)
    rows = per_side * pooled
    return Placeholders(token, pooled * (pooled + 1) + 1 + rows * (rows + 1), "image")


# --- audio-text dual encoders: CLAP's spectrogram "image" ------------------------

CLAP_WINDOW_SECONDS = 10  # ClapFeatureExtractor's max_length_s: every clip cropped or repeat-padded to it
CLAP_FRAMES_PER_SECOND = 100  # its hop of 480 samples at 48 kHz
CLAP_FUSED_CROPS = 4  # "fusion" truncation: the whole clip shrunk to the window and 3 crops of it


def reads_spectrogram_image(facts: ModelFacts) -> bool:
    """CLAP's HTSAT audio tower reshapes the log-mel spectrogram into a
    square image of ``spec_size`` (``ClapAudioEncoder.reshape_mel2img``)."""
    return isinstance(facts.sub("audio_config").get("spec_size"), int) and "input_features" in facts.accepts


@builds("input_features", "audio-language", when=reads_spectrogram_image)
def spectrogram_crops(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Log-mel features [B, crops, frames, mels] of ClapFeatureExtractor: a
    fixed window of 10 s (1,001 frames), one crop, or 4 for a fused tower
    (``enable_fusion``), with ``is_longer`` beside them."""
    audio = facts.sub("audio_config")
    frames = CLAP_WINDOW_SECONDS * CLAP_FRAMES_PER_SECOND + 1  # centred frames of the window
    crops = CLAP_FUSED_CROPS if audio.get("enable_fusion") else 1
    planned.notes.append(f"input_features: {crops} crop(s) of {frames:,} frames x {audio['num_mel_bins']} mel bins (the extractor's fixed {CLAP_WINDOW_SECONDS} s window)")
    planned.tokens += spec.batch * frames
    planned.add("is_longer")
    return TensorPlan((spec.batch, crops, frames, audio["num_mel_bins"]), "float32")


@builds("is_longer", "audio-language", when=reads_spectrogram_image)
def is_longer(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B, 1]: whether each clip is longer than the window (a fused tower
    then joins the crops' features; ClapFeatureExtractor)."""
    longer = audio_seconds(spec) > CLAP_WINDOW_SECONDS
    return TensorPlan((spec.batch, 1), "bool", values=(longer,) * spec.batch)


# --- encoder states in place of token ids ------------------------------------------


@builds("inputs_embeds", "audio-language", when=lambda facts: facts.main_input == "inputs_embeds")
def encoder_states(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Hidden states [B, n, ``hidden_size``] for a model that reads another
    model's states instead of token ids (Nemotron 3.5 Transcribe's word
    timestamp encoder reads its speech encoder's frames): n = ``--seq-len``."""
    n = text_length(facts.config, spec, planned=planned)
    planned.notes.append(f"inputs_embeds: {n:,} frames of {facts.config['hidden_size']:,} values (encoder states, one per --seq-len step)")
    planned.tokens += spec.batch * n
    return TensorPlan((spec.batch, n, facts.config["hidden_size"]), "float32")
