"""Audio inputs: raw waveforms and log-mel features."""

from __future__ import annotations

from . import ModelFacts, Planned, TensorPlan, builds

DEFAULT_AUDIO_SECONDS = 10
SAMPLING_RATE = 16000  # the speech models' feature extractors; a config's own sampling_rate wins
MEL_FRAMES_PER_SECOND = 100  # 10 ms hop


def audio_seconds(spec) -> float:
    return spec.audio_seconds or DEFAULT_AUDIO_SECONDS


@builds("input_values", "audio")
def input_values(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """A raw waveform [B, samples]: ``--audio-seconds`` (default 10) at the
    config's sampling rate, else 16 kHz."""
    audio = facts.sub("audio_config")
    rate = audio.get("sampling_rate") or SAMPLING_RATE
    samples = int(audio_seconds(spec) * rate)
    planned.notes.append(f"input_values: {audio_seconds(spec):g} s of audio at {rate:,} Hz")
    planned.tokens += spec.batch * samples
    return TensorPlan((spec.batch, samples), "float32")


@builds("input_features", "audio")
def input_features(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Log-mel features. Whisper-style encoders take [B, mels, 2·positions]
    (3,000 frames: 30 s, padded); filter-bank encoders (speech_to_text)
    [B, frames, mels·channels]; others [B, mels, frames] at 100 frames a second."""
    audio = facts.sub("audio_config")
    mels = audio.get("num_mel_bins") or audio.get("input_feat_per_channel") or 80
    positions = audio.get("max_source_positions")
    if isinstance(positions, int) and "num_mel_bins" in audio:
        frames = 2 * positions  # the encoder's two strided convolutions halve this to its positions
        planned.notes.append(f"input_features: {mels} mel bins x {frames:,} frames ({frames // MEL_FRAMES_PER_SECOND} s, the encoder's fixed window)")
        planned.tokens += spec.batch * positions
        return TensorPlan((spec.batch, mels, frames), "float32")
    frames = int(audio_seconds(spec) * MEL_FRAMES_PER_SECOND)
    planned.tokens += spec.batch * frames
    planned.notes.append(f"input_features: {audio_seconds(spec):g} s of audio as {frames:,} frames of {mels} features")
    if "input_feat_per_channel" in audio:
        return TensorPlan((spec.batch, frames, mels * audio.get("input_channels", 1)), "float32")
    return TensorPlan((spec.batch, mels, frames), "float32")
