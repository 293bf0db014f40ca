"""Audio inputs: raw waveforms, log-mel features and the masks beside them.

Where the layout of an input is not obvious, the feature extractor
transformers pairs with the model says it: the shape, the frames per second,
the mel bins, the channels, the multiple the length is padded to. The sizes
come from the config that describes the sound front end (the model's own, or
a sub-config: ``audio_config``, ``encoder_config``, ...); a feature
extractor's default fills in what no config field says, named where used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Mapping

from . import ModelFacts, Placeholders, Planned, TensorPlan, builds, placeholders
from .text import text_length

DEFAULT_AUDIO_SECONDS = 10
SAMPLING_RATE = 16000  # the speech models' feature extractors; a config's own sampling rate wins
MEL_FRAMES_PER_SECOND = 100  # a 10 ms hop (160 samples at 16 kHz), every log-mel feature extractor here
MEL_BINS = 128  # Whisper-large-v3's and Gemma's feature extractors, for a config that names no mel count

# mel bins; ``feature_size`` (CLVP's decoder config, the feature extractors' own name) only once features are wanted
MEL_FIELDS = ("num_mel_bins", "input_feat_per_channel", "input_feat_size", "feature_size")
FEATURE_FIELDS = (*MEL_FIELDS, "feature_projection_input_dim", "input_dim")  # values per row of features
RATE_FIELDS = ("sampling_rate", "sample_rate", "input_sampling_rate")
STRIDE_FIELDS = ("downsampling_ratios", "upsampling_ratios", "patch_sizes")  # a waveform codec's strides
WAVEFORM_FIELDS = (*RATE_FIELDS, *STRIDE_FIELDS, "feat_extract_norm", "conv_dim", "audio_channels")
# fields that name sound and nothing else (``feature_size`` and ``input_dim`` have other meanings elsewhere)
SOUND_FIELDS = (*MEL_FIELDS[:3], "feature_projection_input_dim", *WAVEFORM_FIELDS, "audio_prompt_token_id")
# the conformer front ends that subsample time and frequency in 2-D read [B, frames, mels]
SUBSAMPLING_FIELDS = ("subsampling_factor", "subsampling_conv_channels", "sscp_conv_channel_size")
# frames first, [B, frames, mels]: those, filter-bank encoders (speech_to_text, Gemma 3n) and vocoders
FRAMES_FIRST_FIELDS = (*SUBSAMPLING_FIELDS, "input_feat_per_channel", "input_feat_size", "resblock_kernel_sizes")
# stacked frames: the Seamless-M4T extractor joins 2 frames a row, FunASR's low frame rate (LFR) 7 frames every 6th
SEAMLESS_STRIDE = 2
LFR_STRIDE = 6
# Granite Speech 5: a frame and its delta (x2), paired (x2), per row (GraniteSpeech5FeatureExtractor)
GRANITE_STACK, GRANITE_STRIDE = 4, 2


def audio_seconds(spec) -> float:
    return spec.audio_seconds or DEFAULT_AUDIO_SECONDS


def configs(config: Mapping) -> Iterator[Mapping]:
    """The config's ``audio_config`` (and its own sub-configs), the config
    itself, then every other sub-config, depth first: where a sound front
    end may be described."""
    audio = config.get("audio_config")
    if isinstance(audio, Mapping):
        yield from configs(audio)
    yield config
    for name, value in config.items():
        if isinstance(value, Mapping) and name != "audio_config":
            yield from configs(value)


def describing(config: Mapping, fields: tuple[str, ...]) -> Mapping | None:
    """The first of :func:`configs` that sets one of ``fields``."""
    return next((c for c in configs(config) if any(c.get(f) is not None for f in fields)), None)


def describes_sound(config: Mapping) -> bool:
    """Whether the config (or a sub-config) describes a sound front end
    (mel features, a waveform's sampling rate, a codec's strides) or a
    text-to-speech model's voice prompt."""
    return describing(config, SOUND_FIELDS) is not None


# --- waveforms -------------------------------------------------------------


def sampling_rate(facts: ModelFacts) -> int:
    rated = describing(facts.config, RATE_FIELDS) or {}
    return next((int(rated[f]) for f in RATE_FIELDS if rated.get(f)), SAMPLING_RATE)


def hop(facts: ModelFacts) -> int:
    """Samples per frame of a codec: its ``hop_length``, else the product of
    its strides (``downsampling_ratios``, ...); 1 when it has none."""
    strided = describing(facts.config, ("hop_length", *STRIDE_FIELDS)) or {}
    if isinstance(strided.get("hop_length"), int):
        return strided["hop_length"]
    return next((math.prod(strided[f]) for f in STRIDE_FIELDS if strided.get(f)), 1)


def waveform_steps(facts: ModelFacts, count: int) -> int:
    """The time steps ``count`` samples make past the model's strided front
    end (a codec's hop, a wav2vec2-style ``conv_stride``): the tokens its
    transformer layers see."""
    strided = describing(facts.config, ("conv_stride",)) or {}
    step = hop(facts) if hop(facts) > 1 else math.prod(strided.get("conv_stride") or [1])
    return max(count // step, 1)


def takes_channels(facts: ModelFacts) -> bool:
    """Codecs and the encoders built on one read [B, channels, samples]: the
    forward takes a ``padding_mask`` over the samples (EncodecFeatureExtractor,
    DacFeatureExtractor and their kin return both) or the config describes a
    convolutional codec (``downsampling_ratios``, ``upsampling_ratios``)."""
    return "padding_mask" in facts.accepts or describing(facts.config, STRIDE_FIELDS[:2]) is not None


def samples(facts: ModelFacts, spec, planned: Planned, name: str) -> int:
    """``--audio-seconds`` at the model's sampling rate, padded to whole
    frames of its hop (as its feature extractor pads)."""
    rate, step = sampling_rate(facts), hop(facts)
    count = math.ceil(int(audio_seconds(spec) * rate) / step) * step
    whole = f", whole frames of {step:,} samples" if step > 1 else ""
    planned.notes.append(f"{name}: {count / rate:g} s of audio at {rate:,} Hz{whole}")
    return count


@builds("input_values", "audio", when=takes_channels)
def codec_waveform(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """A waveform [B, channels, samples]: channels from ``audio_channels`` (or
    ``channels``), else mono."""
    sound = describing(facts.config, ("audio_channels", "channels")) or {}
    channels = sound.get("audio_channels") or sound.get("channels") or 1
    count = samples(facts, spec, planned, "input_values")
    planned.tokens += spec.batch * waveform_steps(facts, count)
    return TensorPlan((spec.batch, channels, count), "float32")


@builds("input_values", "audio", when=lambda facts: describing(facts.config, ("max_length",)) is not None
        and describing(facts.config, ("num_mel_bins",)) is not None)
def spectrogram_patches(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The Audio Spectrogram Transformer's input: a filter bank [B,
    ``max_length`` frames, ``num_mel_bins``] (ASTFeatureExtractor: 10 ms
    frames padded to the fixed window the position table was trained on)."""
    sound = describing(facts.config, ("max_length",))
    frames, mels = sound["max_length"], sound["num_mel_bins"]
    planned.notes.append(f"input_values: {frames:,} frames x {mels} mel bins ({frames / MEL_FRAMES_PER_SECOND:g} s, the model's fixed window)")
    planned.tokens += spec.batch * frames
    return TensorPlan((spec.batch, frames, mels), "float32")


@builds("input_values", "audio")
def input_values(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """A raw waveform [B, samples] (Wav2Vec2FeatureExtractor), whole frames
    of the model's hop where it has one."""
    count = samples(facts, spec, planned, "input_values")
    planned.tokens += spec.batch * waveform_steps(facts, count)
    return TensorPlan((spec.batch, count), "float32")


@builds("latents", "audio")
def latents(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """A codec decoder's continuous latents [B, ``hidden_size``, frames]:
    ``--audio-seconds`` of frames at the codec's ``frame_rate`` (a field, or
    what its config class derives: one latent frame per ``frame_size``
    samples)."""
    rate = facts.config.get("frame_rate") or facts.derived["frame_rate"]
    count = math.ceil(audio_seconds(spec) * rate)
    planned.notes.append(f"latents: {audio_seconds(spec):g} s of audio as {count} latent frames ({rate:g} a second)")
    planned.tokens += spec.batch * count
    return TensorPlan((spec.batch, facts.config["hidden_size"], count), "float32")


# --- log-mel features ------------------------------------------------------


@dataclass(frozen=True)
class Features:
    shape: tuple[int, ...]
    frames: int  # rows along time: what a mask beside the features covers
    note: str


def mel_bins(sound: Mapping) -> int:
    return next((sound[f] for f in MEL_FIELDS if isinstance(sound.get(f), int)), MEL_BINS)


def mel_frames(spec, multiple: int = 1) -> int:
    """``--audio-seconds`` of 10 ms frames, padded up to ``multiple``."""
    return math.ceil(audio_seconds(spec) * MEL_FRAMES_PER_SECOND / multiple) * multiple


def features(facts: ModelFacts, spec) -> Features:
    """The log-mel features the model's front end reads, by the layout of
    the feature extractor transformers pairs with it:

    - a Whisper-style encoder (``num_mel_bins`` and ``max_source_positions``):
      [B, mels, 2·positions], the fixed 30 s window its convolutions halve;
    - stacked frames, [B, rows, width]: ``feature_projection_input_dim``
      values per row, 2 frames a row (SeamlessM4TFeatureExtractor);
      ``num_stacked_frames`` frames every 6th (FunASR's low frame rate);
      Granite Speech 5's paired frames with their deltas (``subsample_layers``);
    - frames first, [B, frames, mels·channels]: a conformer that subsamples
      time and frequency in 2-D (``subsampling_factor``, ...; frames padded to
      a multiple of the factor), a filter-bank encoder
      (``input_feat_per_channel``), a vocoder (``resblock_kernel_sizes``);
    - else mels first, [B, mels, frames] (WhisperFeatureExtractor without
      its 30 s padding; Qwen3-ASR's pads to a multiple of 2·``n_window``).
    """
    sound = describing(facts.config, FEATURE_FIELDS + SUBSAMPLING_FIELDS) or facts.sub("audio_config")
    mels, batch, seconds = mel_bins(sound), spec.batch, audio_seconds(spec)
    positions = sound.get("max_source_positions")
    if isinstance(positions, int) and "num_mel_bins" in sound:
        frames = 2 * positions  # the encoder's two strided convolutions halve this to its positions
        return Features((batch, mels, frames), frames, f"{mels} mel bins x {frames:,} frames ({frames // MEL_FRAMES_PER_SECOND} s, the encoder's fixed window)")
    stacked = stacking(sound, mels)
    if stacked is not None:
        width, stride, how = stacked
        rows = math.ceil(mel_frames(spec) / stride)
        return Features((batch, rows, width), rows, f"{seconds:g} s of audio as {rows:,} rows of {width} values ({how})")
    if any(sound.get(f) is not None for f in FRAMES_FIRST_FIELDS):
        multiple = sound.get("subsampling_factor") or 1
        frames, width = mel_frames(spec, multiple), mels * (sound.get("input_channels") or 1)
        padded = f", padded to a multiple of {multiple}" if frames != mel_frames(spec) else ""
        return Features((batch, frames, width), frames, f"{seconds:g} s of audio as {frames:,} frames of {width} mel bins (frames first{padded})")
    frames = mel_frames(spec, 2 * (sound.get("n_window") or 0) or 1)
    return Features((batch, mels, frames), frames, f"{seconds:g} s of audio as {mels} mel bins x {frames:,} frames")


def stacking(sound: Mapping, mels: int) -> tuple[int, int, str] | None:
    """(values per row, frames per row step, how) for front ends that stack frames."""
    if isinstance(sound.get("feature_projection_input_dim"), int):
        return sound["feature_projection_input_dim"], SEAMLESS_STRIDE, f"{SEAMLESS_STRIDE} stacked frames a row"
    if isinstance(sound.get("input_dim"), int):
        return sound["input_dim"], SEAMLESS_STRIDE, f"{SEAMLESS_STRIDE} stacked frames a row"
    if isinstance(sound.get("num_stacked_frames"), int):
        return mels * sound["num_stacked_frames"], LFR_STRIDE, f"{sound['num_stacked_frames']} frames stacked every {LFR_STRIDE}th"
    if sound.get("subsample_layers") is not None:
        return mels * GRANITE_STACK, GRANITE_STRIDE, "frames and their deltas, paired"
    return None


def _mels(facts: ModelFacts, spec, planned: Planned, name: str, mask: str) -> TensorPlan:
    """Log-mel features named ``name`` (see :func:`features`), and their
    ``mask`` where the forward takes one."""
    planned_features = features(facts, spec)
    planned.notes.append(f"{name}: {planned_features.note}")
    planned.tokens += spec.batch * planned_features.frames
    planned.add(mask)
    return TensorPlan(planned_features.shape, "float32")


@builds("input_features", "audio")
def input_features(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Log-mel features, with the mask over their frames where the forward takes one."""
    return _mels(facts, spec, planned, "input_features", "input_features_mask")


@builds("input_features_mask", "audio")
def input_features_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Ones over the feature frames [B, frames]: every frame is audio."""
    frames = features(facts, spec).frames
    return TensorPlan((spec.batch, frames), "int64", ((1, frames),))


@builds("audio_mel", "audio")
def audio_mel(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Gemma 3n's log-mel features [B, frames, mels], with their mask."""
    return _mels(facts, spec, planned, "audio_mel", "audio_mel_mask")


@builds("audio_mel_mask", "audio")
def audio_mel_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """False over the frames [B, frames]: Gemma 3n's mask marks padding."""
    return TensorPlan((spec.batch, features(facts, spec).frames), "bool")


# --- a text-to-speech model's voice prompt ---------------------------------


def prompt_frames(facts: ModelFacts, spec) -> int:
    """Latent frames of an ``--audio-seconds`` voice prompt at the config's ``frame_rate``."""
    return math.ceil(audio_seconds(spec) * facts.config["frame_rate"])


@builds("audio_prompt_latents", "audio")
def audio_prompt_latents(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """A voice prompt as the audio tokenizer's latents [B, frames,
    ``audio_prompt_dim`` (else ``latent_dim``)], one frame per
    ``audio_prompt_token_id`` in the token ids."""
    width = facts.config.get("audio_prompt_dim") or facts.config["latent_dim"]
    count = prompt_frames(facts, spec)
    planned.notes.append(f"audio_prompt_latents: a {audio_seconds(spec):g} s voice prompt, {count} latent frames of {width}")
    return TensorPlan((spec.batch, count, width), "float32")


@placeholders
def voice_prompt_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """One ``audio_prompt_token_id`` per voice-prompt frame."""
    if "audio_prompt_latents" not in planned.tensors:
        return None
    return Placeholders(facts.config["audio_prompt_token_id"], prompt_frames(facts, planned.spec), "voice-prompt")


# --- a text-to-speech decoder over codebooks --------------------------------


@builds("decoder_input_ids", "audio", when=lambda facts: isinstance(facts.config.get("delay_pattern"), list))
def codebook_decoder_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Audio codes [B, m, codebooks] for a decoder that reads every codebook
    of a frame at once, each delayed by its step of ``delay_pattern`` (one
    entry per codebook): m = ``--decoder-seq-len``, else the text length."""
    codebooks = len(facts.config["delay_pattern"])
    steps = spec.decoder_seq_len or text_length(facts.sub("decoder_config"), spec, planned=planned)
    planned.notes.append(f"decoder_input_ids: {steps} audio frames of {codebooks} codebooks")
    planned.tokens += spec.batch * steps
    return TensorPlan((spec.batch, steps, codebooks), "int64")
