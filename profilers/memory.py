"""Will a real-tensor counter fit in memory? Estimated before anything is built.

The estimate is deliberately simple and generous: fp32 weights (4 bytes per
parameter) plus the activations of one forward pass, bounded by the widest
tensors a transformer layer holds at once (hidden states, the MLP's inner
width, the vocabulary logits and the eager attention scores), plus a fixed
allowance for the interpreter and libraries.
"""

from __future__ import annotations

import os

FP32 = 4
BASE_OVERHEAD = 768 << 20  # interpreter, torch, transformers, the tool itself


def available_bytes() -> int | None:
    """Memory the system can give a new process now (``MemAvailable``), if known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def real_run_bytes(params: int, config: dict | None, batch: int, tokens: int, input_elements: int) -> int:
    """Bytes a real fp32 forward pass needs: weights + peak activations + overhead."""
    weights = FP32 * params
    config = config or {}
    hidden = _first(config, "hidden_size", "n_embd", "d_model", "dim") or 0
    inner = _first(config, "intermediate_size", "n_inner", "d_ff", "encoder_ffn_dim", "ffn_dim") or 4 * hidden
    vocab = config.get("vocab_size") or 0
    heads = _first(config, "num_attention_heads", "n_head", "num_heads", "encoder_attention_heads") or 1
    per_batch = tokens // max(batch, 1)
    activations = FP32 * tokens * (8 * hidden + 2 * inner + vocab) + 2 * FP32 * batch * heads * per_batch * per_batch
    if not hidden:  # toys and factories: scale the input
        activations = FP32 * 256 * input_elements
    return weights + activations + BASE_OVERHEAD


def _first(config: dict, *names: str) -> int | None:
    for name in names:
        value = config.get(name)
        if isinstance(value, int) and value > 0:
            return value
    return None
