"""Operator categories: one classifier every adapter uses at its boundary.

A counter names what it counted in its own vocabulary: an aten op
(``aten.addmm``, ``aten::matmul``), a module type whose hook fired
(``Linear``, ``LayerNorm``), or a patched function (``F.gelu``,
``torch.matmul``). :func:`category` maps that name, plus the module it ran in,
to one category of :data:`MAC_CATEGORIES` (multiply-accumulates) or
:data:`OTHER_CATEGORIES` (everything else).

Matmuls are split by who supplies the second operand: run directly in a module
that owns parameters (``nn.Linear``, GPT-2's ``Conv1D``, fused expert weights)
they are ``linear``; in a module without parameters of its own (an attention
block multiplying queries by keys) they are ``attention``; in RNN modules they
are ``recurrent``.
"""

from __future__ import annotations

import re

from .records import MAC_CATEGORIES

RECURRENT_TYPES = frozenset({"RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"})
ATTENTION_TYPES = frozenset({"MultiheadAttention"})

_MATMUL = {"mm", "addmm", "matmul", "linear", "bmm", "baddbmm", "einsum", "addbmm", "_grouped_mm", "dot", "mv"}
_ACTIVATION_TO_ACTIVATION = {"bmm", "baddbmm", "einsum", "addbmm"}
_BY_NAME = [
    # (pattern on the normalised name, category); first match wins
    (r"scaled_dot_product|flash_attention|efficient_attention|multi_head_attention|multiheadattention", "attention"),
    (r"^(_?convolution|conv\w*|_conv\w*|cudnn_convolution\w*|convtranspose\w*)$", "conv"),
    (r"^(lstm|gru|rnn\w*|_thnn_fused_\w+|lstmcell|grucell|rnncell)$", "recurrent"),
    (r"norm", "norm"),
    (r"softmax", "softmax"),
    (r"pool", "pool"),
    (r"upsample|interpolate|grid_sampler|pixelshuffle", "upsample"),
    (r"^(relu\w*|gelu\w*|silu\w*|tanh\w*|sigmoid\w*|elu|selu|celu|prelu|leakyrelu|leaky_relu\w*|"
     r"hardtanh|hardswish|hardsigmoid|mish|softplus|glu|newgeluactivation|geluactivation|"
     r"quickgeluactivation|fastgeluactivation|pytorchgelutanh|siluactivation|activation)$", "activation"),
    (r"^(add|sub|mul|div|rsub|pow|sqrt|rsqrt|exp|neg|where|mean|sum|cumsum|addcmul|addcdiv|square)_?$", "elementwise"),
]
# Module types whose matmuls are weight products (GPT-2's Conv1D is a linear layer).
LINEAR_TYPES = frozenset({"Linear", "Conv1D", "LazyLinear", "NonDynamicallyQuantizableLinear", "Bilinear"})


def normalize(op_name: str) -> str:
    """``aten::addmm`` / ``aten.addmm.default`` / ``F.gelu`` / ``torch.Tensor.mm`` -> ``addmm`` / ``gelu`` / ``mm``."""
    name = op_name.replace("::", ".")
    for prefix in ("aten.", "torch.nn.functional.", "F.", "torch.Tensor.", "torch."):
        if name.startswith(prefix):
            name = name[len(prefix):]
    name = name.split(".")[0]
    return name.lower()


def category(op_name: str, module_type: str | None = None, owns_params: bool = False) -> str:
    """Category of ``op_name`` run directly in a module of ``module_type``."""
    name = normalize(op_name)
    if module_type in RECURRENT_TYPES and name in _MATMUL:
        return "recurrent"
    if name in _MATMUL:
        if module_type in ATTENTION_TYPES:
            return "attention" if name in _ACTIVATION_TO_ACTIVATION else "linear"
        if module_type in LINEAR_TYPES:
            return "linear"
        return "linear" if owns_params else "attention"
    for pattern, found in _BY_NAME:
        if re.search(pattern, name):
            return found
    return "other"


def module_category(module_type: str) -> str:
    """Category of everything a module-hook counter attributes to a module of ``module_type``."""
    if module_type in RECURRENT_TYPES:
        return "recurrent"
    if module_type in ATTENTION_TYPES:
        return "attention"
    if module_type in LINEAR_TYPES:
        return "linear"
    return category(module_type, None)


def is_mac(category_name: str) -> bool:
    return category_name in MAC_CATEGORIES

