"""Inputs that are neither text, images nor sound: layout boxes, time
series, agent states, entity ids and other named tensors a forward takes."""

from __future__ import annotations

from typing import Mapping

from ...profilers.errors import BadInput
from . import ModelFacts, Planned, TensorPlan, builds

# --- time series: a window of past values, the marks on it and the features beside it


def forecasts(facts: ModelFacts) -> bool:
    """A forecaster: its forward reads ``past_values`` over a window the config names (``context_length``)."""
    return "past_values" in facts.accepts and isinstance(facts.config.get("context_length"), int)


def pads_series(facts: ModelFacts) -> bool:
    """A forecaster whose pipeline pads (or cuts) every series to
    ``context_length`` and marks the pad in ``past_values_padding`` (TimesFM):
    it reads any number of whole patches up to that window."""
    return forecasts(facts) and "past_values_padding" in facts.accepts


def history(facts: ModelFacts, spec) -> int:
    """Time steps of ``past_values``: ``context_length`` plus the furthest
    lag of ``lags_sequence`` where the model builds lag features from the
    steps before its window. A model that pads its series takes ``--seq-len``
    steps instead, whole patches up to ``context_length``; any other refuses
    a ``--seq-len``, its layers being sized by the window."""
    config = facts.config
    window = config["context_length"]
    steps = window + max(config.get("lags_sequence") or [0])
    if "seq_len" not in spec.given or spec.seq_len == steps:
        return steps
    patch = config.get("patch_length") or 1
    if pads_series(facts) and spec.seq_len <= window and spec.seq_len % patch == 0:
        return spec.seq_len
    if pads_series(facts):
        raise BadInput(f"--seq-len {spec.seq_len}: the model reads whole patches of {patch} time steps, up to its context_length = {window}")
    raise BadInput(f"--seq-len {spec.seq_len}: the model reads a fixed window of {steps} time steps ({_window_words(config)})")


def _window_words(config: Mapping) -> str:
    lags = max(config.get("lags_sequence") or [0])
    return f"context_length {config['context_length']} + {lags} lagged steps" if lags else "its context_length"


def variates(config: Mapping) -> tuple[int, ...]:
    """The trailing axis of ``past_values``: (``num_input_channels``,) for a
    model that always reads [B, T, C] (PatchTST, PatchTSMixer),
    (``input_size``,) for a multivariate series, () for a univariate one
    read as [B, T]."""
    if isinstance(config.get("num_input_channels"), int):
        return (config["num_input_channels"],)
    size = config.get("input_size")
    return (size,) if isinstance(size, int) and size > 1 else ()


def series_shape(facts: ModelFacts, spec) -> tuple[int, ...]:
    """[B, T] or [B, T, C]: see :func:`history` and :func:`variates`."""
    return (spec.batch, history(facts, spec), *variates(facts.config))


@builds("past_values", "structured", when=forecasts)
def past_values(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The series (see :func:`series_shape`), with the masks and features
    the forward takes beside it."""
    shape = series_shape(facts, spec)
    steps, width = shape[1], shape[2] if len(shape) == 3 else 1
    why = "--seq-len, whole patches" if "seq_len" in spec.given else _window_words(facts.config)
    planned.notes.append(f"past_values: {steps} time steps ({why}) of {width} variate(s)")
    planned.tokens += spec.batch * steps
    for companion in ("past_observed_mask", "observed_mask", "past_values_padding", "past_time_features",
                      "static_categorical_features", "static_real_features", "future_values", "future_time_features"):
        planned.add(companion)
    return TensorPlan(shape, "float32")


def _observed(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Ones over ``past_values`` (every value observed), in its dtype as the forward's own default."""
    shape = series_shape(facts, spec)
    return TensorPlan(shape, "float32", ((1, shape[-1]),))


builds("past_observed_mask", "structured", when=forecasts)(_observed)
builds("observed_mask", "structured", when=forecasts)(_observed)


@builds("past_values_padding", "structured", when=pads_series)
def past_values_padding(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Zeros over ``past_values`` [B, T]: no step is padding (1 marks a pad)."""
    return TensorPlan(series_shape(facts, spec), "float32")


@builds("freq", "structured", when=lambda facts: forecasts(facts) and "freq_size" in facts.config)
def freq(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """A frequency class per series [B, 1] (int32; 0, high frequency, TimesFM's
    default when none is given, of its ``freq_size`` classes)."""
    return TensorPlan((spec.batch, 1), "int32")


# the encoder-decoder forecasters (Time Series Transformer, Informer, Autoformer): time features on every
# step, static features per series, and the future window the decoder reads while training


def dates_steps(facts: ModelFacts) -> bool:
    """A forecaster fed time features per step (``num_time_features`` in its config)."""
    return forecasts(facts) and "num_time_features" in facts.config


def time_features(config: Mapping) -> int:
    """Features per step: ``num_time_features`` + ``num_dynamic_real_features`` (0 makes an empty axis)."""
    return config["num_time_features"] + (config.get("num_dynamic_real_features") or 0)


@builds("past_time_features", "structured", when=dates_steps)
def past_time_features(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The time features of every past step [B, T, features] (see :func:`time_features`)."""
    return TensorPlan((spec.batch, history(facts, spec), time_features(facts.config)), "float32")


def predicts_window(facts: ModelFacts) -> bool:
    """An encoder-decoder forecaster whose decoder reads the ``prediction_length``
    steps after the window: fed ``future_values`` as a seq2seq decoder its ids."""
    return dates_steps(facts) and bool(facts.config.get("is_encoder_decoder")) and isinstance(facts.config.get("prediction_length"), int)


@builds("future_values", "structured", when=predicts_window)
def future_values(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The values to forecast [B, P] or [B, P, C], P = ``prediction_length``:
    the decoder reads them, shifted, as a training step does."""
    steps = facts.config["prediction_length"]
    planned.notes.append(f"future_values: the {steps} steps to forecast (prediction_length), as in training")
    planned.tokens += spec.batch * steps
    return TensorPlan((spec.batch, steps, *variates(facts.config)), "float32")


@builds("future_time_features", "structured", when=predicts_window)
def future_time_features(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The time features of the steps to forecast [B, ``prediction_length``, features]."""
    return TensorPlan((spec.batch, facts.config["prediction_length"], time_features(facts.config)), "float32")


@builds("static_categorical_features", "structured",
        when=lambda facts: dates_steps(facts) and (facts.config.get("num_static_categorical_features") or 0) > 0)
def static_categorical_features(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """A category per static feature of each series [B, ``num_static_categorical_features``] (int64)."""
    return TensorPlan((spec.batch, facts.config["num_static_categorical_features"]), "int64")


@builds("static_real_features", "structured",
        when=lambda facts: dates_steps(facts) and (facts.config.get("num_static_real_features") or 0) > 0)
def static_real_features(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Static real features of each series [B, ``num_static_real_features``]."""
    return TensorPlan((spec.batch, facts.config["num_static_real_features"]), "float32")
