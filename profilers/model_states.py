"""Model states of a training run — weights, gradients, optimizer states — in
bytes, per GPU under ZeRO data parallelism. Pure Python, no torch.

Precision (``--precision``):

- ``pure``: weights, gradients and optimizer states all at the working dtype;
- ``mixed``: 16-bit weights and gradients, and the optimizer keeps an fp32
  master copy of the weights beside its fp32 states. With Adam that is
  2 + 2 + (4 + 4 + 4) = 16 bytes per parameter, the figure of Rajbhandari et
  al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion Parameter
  Models" (section 3.1).

Optimizer states, as ``torch.optim`` keeps them: Adam/AdamW two moments per
parameter, SGD with momentum one, plain SGD none; Adafactor (no first moment,
as ``torch.optim.Adafactor``) a factored second moment: for a weight of shape
[..., r, c] its row and column means (``prod(shape[:-1]) +
prod(shape[:-2]) * c`` values), a full one for vectors. The optimizers'
step counters (``torch.optim`` keeps a 4-byte one per parameter tensor) are
left out, as in the paper.

ZeRO (the paper's stages, N GPUs): stage 1 shards the optimizer states,
stage 2 also the gradients, stage 3 also the weights; whatever is sharded
takes 1/N per GPU (rounded up to a whole byte). Activations and the key/value
cache are per GPU and not sharded.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BadInput

DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}
MASTER_BYTES = 4  # mixed precision: the fp32 master weights and states
# optimizer -> full-size states per parameter (Adafactor: its factored elements instead)
STATES_PER_PARAM = {"adamw": 2, "adam": 2, "sgd": 0, "sgd-momentum": 1, "adafactor": 0, "none": 0}
OPTIMIZERS = tuple(STATES_PER_PARAM)
PRECISIONS = ("pure", "mixed")


@dataclass(frozen=True)
class Params:
    """What the optimizer sees: all parameters, the trainable ones, and the
    values a factored (Adafactor) second moment keeps."""

    total: int
    trainable: int
    factored: int  # Adafactor's row + column (or full vector) values over the trainable tensors


@dataclass(frozen=True)
class States:
    weights: int
    gradients: int
    optimizer: int
    formula: str  # how they were computed, in words and bytes per parameter

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer


def check_settings(dtype: str, precision: str, optimizer: str, gpus: int, zero: int) -> None:
    """BadInput for a combination that does not describe a training run."""
    if dtype not in DTYPE_BYTES:
        raise BadInput(f"unknown dtype {dtype!r} for memory ({', '.join(DTYPE_BYTES)})")
    if precision not in PRECISIONS:
        raise BadInput(f"unknown precision {precision!r} ({', '.join(PRECISIONS)})")
    if optimizer not in STATES_PER_PARAM:
        raise BadInput(f"unknown optimizer {optimizer!r} ({', '.join(OPTIMIZERS)})")
    if precision == "mixed" and DTYPE_BYTES[dtype] != 2:
        raise BadInput("--precision mixed keeps 16-bit weights and gradients: use --dtype bf16 or fp16")
    if gpus < 1:
        raise BadInput("--gpus must be at least 1")
    if zero not in (0, 1, 2, 3):
        raise BadInput("--zero is a ZeRO stage: 0, 1, 2 or 3")
    if zero and gpus == 1:
        raise BadInput("--zero shards over data-parallel GPUs: give --gpus N with N > 1")


def model_states(params: Params, *, dtype: str, precision: str, optimizer: str, train: bool) -> States:
    """Weights, gradients and optimizer states of the whole model, in bytes
    (inference: the weights alone)."""
    b = DTYPE_BYTES[dtype]
    weights = params.total * b
    if not train:
        return States(weights, 0, 0, f"weights {b} bytes per parameter ({dtype})")
    state_bytes = MASTER_BYTES if precision == "mixed" else b
    per_param = STATES_PER_PARAM[optimizer] * state_bytes
    optimizer_bytes = params.trainable * per_param
    if optimizer == "adafactor":
        optimizer_bytes += params.factored * state_bytes
    master = params.trainable * MASTER_BYTES if precision == "mixed" and optimizer != "none" else 0
    formula = f"{precision} precision, {optimizer}: weights {b} + gradients {b}"
    if master:
        formula += f" + fp32 master weights {MASTER_BYTES}"
    formula += f" + {_states_words(optimizer, state_bytes, per_param)} bytes per trainable parameter"
    return States(weights, params.trainable * b, optimizer_bytes + master, formula)


def _states_words(optimizer: str, state_bytes: int, per_param: int) -> str:
    if optimizer == "adafactor":
        return f"factored second moments ({state_bytes} bytes per kept value)"
    if optimizer == "none":
        return "no optimizer states 0"
    return f"{optimizer} states {per_param}"


def per_gpu(states: States, *, gpus: int, zero: int) -> States:
    """``states`` on one of ``gpus`` data-parallel GPUs under ZeRO stage ``zero``."""
    if gpus == 1:
        return states

    def shard(value: int, sharded: bool) -> int:
        return -(-value // gpus) if sharded else value

    formula = (f"{states.formula}; ZeRO stage {zero} on {gpus} GPUs: "
               + ("nothing sharded" if zero == 0 else
                  f"{' and '.join(['optimizer states', 'gradients', 'weights'][:zero])} divided by {gpus}"))
    return States(shard(states.weights, zero >= 3), shard(states.gradients, zero >= 2), shard(states.optimizer, zero >= 1),
                  formula)
