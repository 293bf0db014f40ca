"""Inputs that are neither text, images nor sound: layout boxes, time
series, agent states, entity ids and other named tensors a forward takes."""

from __future__ import annotations

from typing import Mapping

from ...profilers.errors import BadInput
from . import ModelFacts, Placeholders, Planned, TensorPlan, builds, placeholders, tower
from .text import text_length
from .vision import image_side

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
        raise BadInput(f"--seq-len {spec.seq_len}: the model reads whole patches of {patch} time steps, "
                       f"up to its context_length = {window}")
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
    config = facts.config
    return dates_steps(facts) and bool(config.get("is_encoder_decoder")) and isinstance(config.get("prediction_length"), int)


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


# --- an agent's trajectory (Decision Transformer): returns-to-go, states and actions, one of each a step


TOKENS_PER_STEP = 3  # the return-to-go, the state and the action of a step, each a token of the GPT-2


def plays_trajectories(facts: ModelFacts) -> bool:
    """A model fed an agent's states and actions (``state_dim``, ``act_dim``) and the returns still to come."""
    return {"states", "actions", "returns_to_go"} <= facts.accepts and "state_dim" in facts.config


def trajectory_steps(facts: ModelFacts, spec, planned: Planned | None = None) -> int:
    """Steps T of the trajectory: ``--seq-len``, within what the GPT-2 sees
    (``n_positions`` tokens, 3 a step) and the episode (``max_ep_len``
    timesteps); a default the user never chose is cut to that, with a note,
    one the user chose is refused past it."""
    config = facts.config
    limits = {f"n_positions {config['n_positions']} / {TOKENS_PER_STEP} tokens a step": config["n_positions"] // TOKENS_PER_STEP,
              f"max_ep_len {config['max_ep_len']}": config["max_ep_len"]}
    why, limit = min(limits.items(), key=lambda item: item[1])
    if spec.seq_len <= limit:
        return spec.seq_len
    if "seq_len" in spec.given:
        raise BadInput(f"--seq-len {spec.seq_len}: a trajectory of at most {limit} steps fits the model ({why})")
    if planned is not None:
        planned.notes.append(f"trajectory of {limit} steps: the model's {why} (default {spec.seq_len})")
    return limit


def _per_step(facts: ModelFacts, spec, width: int) -> TensorPlan:
    return TensorPlan((spec.batch, trajectory_steps(facts, spec), width), "float32")


@builds("states", "structured", when=plays_trajectories)
def states(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The states seen [B, T, ``state_dim``], with the actions, rewards,
    returns-to-go, timesteps and mask of the same steps."""
    steps = trajectory_steps(facts, spec, planned)
    planned.notes.append(f"a trajectory of {steps} steps: {TOKENS_PER_STEP * steps} tokens (return-to-go, state, action a step)")
    planned.tokens += spec.batch * TOKENS_PER_STEP * steps
    for companion in ("actions", "rewards", "returns_to_go", "timesteps", "attention_mask"):
        planned.add(companion)
    return TensorPlan((spec.batch, steps, facts.config["state_dim"]), "float32")


@builds("actions", "structured", when=plays_trajectories)
def actions(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The actions taken [B, T, ``act_dim``]."""
    return _per_step(facts, spec, facts.config["act_dim"])


@builds("rewards", "structured", when=plays_trajectories)
def rewards(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The reward of each step [B, T, 1] (the forward takes it and leaves it unused)."""
    return _per_step(facts, spec, 1)


@builds("returns_to_go", "structured", when=plays_trajectories)
def returns_to_go(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The return still to come at each step [B, T, 1]."""
    return _per_step(facts, spec, 1)


@builds("timesteps", "structured", when=plays_trajectories)
def timesteps(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Each step's index in the episode [B, T] (int64)."""
    return TensorPlan((spec.batch, trajectory_steps(facts, spec)), "int64")


@builds("attention_mask", "structured", when=plays_trajectories)
def trajectory_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Ones over the steps [B, T] (int64): no step is padding."""
    steps = trajectory_steps(facts, spec)
    return TensorPlan((spec.batch, steps), "int64", ((1, steps),))


# --- a latent array read through cross-attention (Perceiver without a preprocessor)


def reads_embedded_inputs(facts: ModelFacts) -> bool:
    """A bare Perceiver (``d_latents`` latents, inputs ``d_model`` wide): its
    forward takes no ``labels``, as its heads do, and has no preprocessor,
    which turns a head's token ids, pixels or image pairs into ``inputs``."""
    return "inputs" in facts.accepts and "labels" not in facts.accepts and {"d_model", "d_latents"} <= facts.config.keys()


@builds("inputs", "structured", when=reads_embedded_inputs)
def latent_inputs(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """What the latents cross-attend to, already embedded [B, n, ``d_model``]:
    n = the text length (``--seq-len``, within ``max_position_embeddings``), as
    the text preprocessor the config describes (``vocab_size``) would embed it."""
    n = text_length(facts.config, spec, planned=planned)
    planned.notes.append(f"inputs: {n} embedded positions of d_model {facts.config['d_model']} (the model has no preprocessor)")
    planned.tokens += spec.batch * n
    return TensorPlan((spec.batch, n, facts.config["d_model"]), "float32")


# --- a block-diffusion drafter (DFlash): a block of noised embeddings, read against the target model's states


def drafts_blocks(facts: ModelFacts) -> bool:
    """A drafter that denoises ``block_size`` embeddings at once, attending to
    the hidden states its target model gives at ``target_layer_ids``."""
    return "noise_embeds" in facts.accepts and isinstance(facts.config.get("block_size"), int)


@builds("noise_embeds", "structured", when=drafts_blocks)
def noise_embeds(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The block to denoise [B, ``block_size``, ``hidden_size``]: the last
    accepted token's embedding and the mask tokens after it."""
    block = facts.config["block_size"]
    planned.notes.append(f"noise_embeds: a block of {block} tokens to draft (block_size)")
    planned.tokens += spec.batch * block
    return TensorPlan((spec.batch, block, facts.config["hidden_size"]), "float32")


@builds("context_hidden_states", "structured",
        when=lambda facts: drafts_blocks(facts) and isinstance(facts.config.get("target_layer_ids"), list))
def context_hidden_states(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The target model's hidden states over the n accepted tokens, its
    ``target_layer_ids`` layers side by side [B, n, layers · ``hidden_size``]:
    n = the text length."""
    n = text_length(facts.config, spec, planned=planned)
    layers = len(facts.config["target_layer_ids"])
    planned.notes.append(f"context_hidden_states: {n} accepted tokens, the target model's {layers} layers side by side")
    planned.tokens += spec.batch * n
    return TensorPlan((spec.batch, n, layers * facts.config["hidden_size"]), "float32")


# --- a vision-language-action model (π0, π0.5): camera images and a prompt for the VLM (``vlm_config``),
# a chunk of actions for the action expert (``dit_config``) that attends to the VLM's keys and values

CAMERAS = 1  # cameras per sample, the least a robot has (PI0Processor stacks a sample's cameras, padded to the most any has)


def acts(facts: ModelFacts) -> bool:
    """A VLM and an action expert: the forward takes the expert's ``action_embeds``."""
    towers = ("vlm_config", "dit_config")
    return "action_embeds" in facts.accepts and all(isinstance(facts.config.get(k), Mapping) for k in towers)


tower("pixel_values", acts)


def camera_vision(facts: ModelFacts) -> Mapping:
    return facts.config["vlm_config"]["vision_config"]


def camera_features(facts: ModelFacts, spec) -> int:
    """Image features per camera: the VLM's vision tower's patches, (H/p)·(W/p)."""
    vision = camera_vision(facts)
    height, width = image_side(vision, spec)
    return (height // vision["patch_size"]) * (width // vision["patch_size"])


@builds("pixel_values", "vision", when=acts)
def camera_images(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """One image per camera [B, cameras, C, H, W] at the vision config's size
    (see :data:`CAMERAS`), with ``pixel_attention_mask`` marking the cameras
    present and the prompt's ``attention_mask``."""
    vision = camera_vision(facts)
    height, width = image_side(vision, spec)
    tokens = camera_features(facts, spec)
    planned.notes.append(f"pixel_values: {CAMERAS} camera image(s) at {height}x{width}, {tokens} image tokens each")
    planned.add("pixel_attention_mask")
    planned.add_after_tokens("attention_mask")
    return TensorPlan((spec.batch, CAMERAS, vision.get("num_channels", 3), height, width), "float32")


@builds("pixel_attention_mask", "vision", when=acts)
def camera_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """True for every camera present [B, cameras] (bool)."""
    return TensorPlan((spec.batch, CAMERAS), "bool", ((1, CAMERAS),))


@placeholders
def camera_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The VLM's image token (``vlm_config.image_token_index``) once per
    image feature of every camera, before the prompt (PI0Processor.build_prompts)."""
    if "pixel_attention_mask" not in planned.tensors or not acts(facts):
        return None
    vlm = facts.config["vlm_config"]
    token = next(vlm[k] for k in ("image_token_index", "image_token_id") if isinstance(vlm.get(k), int))
    return Placeholders(token, CAMERAS * camera_features(facts, planned.spec), "image")


def states_robot(facts: ModelFacts) -> bool:
    """π0: the robot state (``max_state_dim`` values) is a token of its own
    before the action chunk. Without it (π0.5) the state is text in the
    prompt, and the denoising time reaches the action expert's norms as
    ``timestep_embeds``, which the forward hands on to the expert."""
    return isinstance(facts.config.get("max_state_dim"), int)


@builds("action_embeds", "structured", when=acts)
def action_embeds(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The action expert's input [B, rows, ``dit_config.hidden_size``]: the
    ``chunk_size`` noised actions, after the state's token where the model
    has one (see :func:`states_robot`), as the action-time embedding of the
    full model makes them."""
    chunk, width = facts.config["chunk_size"], facts.config["dit_config"]["hidden_size"]
    rows = chunk + (1 if states_robot(facts) else 0)
    state = "the robot state's token and " if states_robot(facts) else ""
    planned.notes.append(f"action_embeds: {state}a chunk of {chunk} actions (chunk_size) for the action expert")
    planned.tokens += spec.batch * rows
    if not states_robot(facts):
        planned.add("timestep_embeds", required=True)
    return TensorPlan((spec.batch, rows, width), "float32")


@builds("timestep_embeds", "structured", when=acts)
def timestep_embeds(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The denoising time's embedding [B, ``dit_config.hidden_size``]."""
    return TensorPlan((spec.batch, facts.config["dit_config"]["hidden_size"]), "float32")
