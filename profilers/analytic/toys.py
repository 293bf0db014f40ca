"""The toy nets of ``models/toys.py``, from their own hyperparameters.

Closed forms per layer type (n positions, width d, kernel k, window r; the
per-layer complexities of Vaswani et al. 2017, "Attention Is All You Need", table 1):
  linear        rows·d_in·d_out
  convolution   k²·C_in·C_out per output position (2-D), k·C_in·C_out (1-D: "k n d²")
  recurrent     g·n·(d_in·d + d²) per layer, g gate sets: RNN 1, GRU 3, LSTM 4 ("n d²")
  self-attention 4·n·d² projections + 2·n²·d scores and weighted sum
  restricted attention 4·n·d² + 2·r·n·d (each token attends to r neighbours)
"""

from __future__ import annotations

from ...models.toys import find_toy
from . import Builder, Spec, family

GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def _shape(spec: Spec) -> tuple[int, ...]:
    return spec.input_shape or find_toy(spec.config["model_type"]).input_shape


def _rows(shape: tuple[int, ...]) -> int:
    rows = 1
    for size in shape[:-1]:
        rows *= size
    return rows


@family("toy:tanh-net")
def tanh_net(spec: Spec, b: Builder) -> str:
    c = spec.config
    rows = _rows(_shape(spec))
    with b.group("linear1 (no bias)", "linear1", "rows·d_in·d_h", rows=rows, d_in=c["in_features"], d_h=c["hidden"]):
        b.linear("linear1", c["in_features"], c["hidden"], rows=rows, bias=False)
    with b.group("linear2 (no bias)", "linear2", "rows·d_h·d_out", rows=rows, d_h=c["hidden"], d_out=c["out_features"]):
        b.linear("linear2", c["hidden"], c["out_features"], rows=rows, bias=False)
    b.notes.append("tanh, tanh and sigmoid are elementwise: no MACs")
    return "TanhNet"


@family("toy:mlp")
def mlp(spec: Spec, b: Builder) -> str:
    c = spec.config
    rows = _rows(_shape(spec))
    widths = [c["in_features"], *c["hidden"]]
    b.sequential("blocks")
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        with b.group("hidden linear layers", "blocks.*", "rows·Σ d_i·d_(i+1)", rows=rows):
            b.linear(f"blocks.{2 * i}", fan_in, fan_out, rows=rows, bias=True)
    with b.group("output layer", "head", "rows·d·classes", rows=rows, d=widths[-1], classes=c["out_features"]):
        b.linear("head", widths[-1], c["out_features"], rows=rows, bias=True)
    return "MLP"


@family("toy:cnn")
def cnn(spec: Spec, b: Builder) -> str:
    c = spec.config
    batch, _, height, width = _shape(spec)
    k = c["kernel_size"]
    fan_in = c["in_channels"]
    b.sequential("features")
    for i, channels in enumerate(c["channels"]):
        b.sequential(f"features.{i}")
        with b.group("convolutions ('same' padding)", "features.*.0", "k²·C_in·C_out·B·h·w", k=k, B=batch):
            b.conv(f"features.{i}.0", fan_in, channels, (k, k), positions=batch * height * width, bias=True)
        b.norm(f"features.{i}.1", channels, type="BatchNorm2d")
        height, width = height // 2, width // 2  # 2x2 max pool
        fan_in = channels
    with b.group("classifier", "classifier", "B·C·classes", B=batch, C=fan_in, classes=c["num_classes"]):
        b.linear("classifier", fan_in, c["num_classes"], rows=batch, bias=True)
    return "SmallCNN"


@family("toy:rnn", "toy:lstm", "toy:gru")
def recurrent(spec: Spec, b: Builder) -> str:
    c = spec.config
    batch, steps, d_in = _shape(spec)
    g, d = GATES[c["cell"]], c["hidden_size"]
    macs = params = 0
    for layer in range(c["num_layers"]):
        fan_in = d_in if layer == 0 else d
        macs += g * batch * steps * (fan_in * d + d * d)
        params += g * (fan_in * d + d * d + 2 * d)  # W_ih, W_hh, b_ih, b_hh
    formula = "g·B·n·(d_in·d + d²) + (L-1)·g·B·n·2d²"
    with b.group(f"{c['cell'].upper()} gates (g = {g})", "rnn", formula, g=g, B=batch, n=steps, d_in=d_in, d=d, L=c["num_layers"]):
        b.recurrent("rnn", macs, params, {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[c["cell"]])
    with b.group("head on the last step", "head", "B·d·classes", B=batch, d=d, classes=c["num_classes"]):
        b.linear("head", d, c["num_classes"], rows=batch, bias=True)
    return "RecurrentNet"


@family("toy:conv1d")
def sequence_conv(spec: Spec, b: Builder) -> str:
    c = spec.config
    batch, n, d = _shape(spec)
    k = c["kernel_size"]
    with b.group("sequence convolution ('same' padding)", "conv", "k·B·n·d²", k=k, B=batch, n=n, d=d):
        b.conv("conv", d, c["channels"], (k,), positions=batch * n, bias=True, type="Conv1d")
    return "SequenceConv"


@family("toy:attention", "toy:local-attention")
def attention(spec: Spec, b: Builder) -> str:
    c = spec.config
    batch, n, d = _shape(spec)
    h = c["num_heads"]
    window = c.get("window")
    with b.group("Q,K,V and output projections", "qkv, out", "4·B·n·d²", B=batch, n=n, d=d):
        b.linear("qkv", d, 3 * d, rows=batch * n, bias=True)
        b.linear("out", d, d, rows=batch * n, bias=True)
    if window:
        with b.group("restricted attention (window r)", "", "2·B·r·n·d", B=batch, r=window, n=n, d=d):
            b.attention("", batch=batch, heads=h, q_len=n, kv_len=window, head_dim=d // h)
        return "LocalAttention"
    with b.group("attention scores and weighted sum", "", "2·B·n²·d", B=batch, n=n, d=d):
        b.attention("", batch=batch, heads=h, q_len=n, kv_len=n, head_dim=d // h)
    return "SelfAttention"


@family("toy:transformer")
def transformer(spec: Spec, b: Builder) -> str:
    c = spec.config
    batch, n, d = _shape(spec)
    h, ff = c["num_heads"], c["dim_feedforward"]
    rows = batch * n
    for i in range(c["num_layers"]):
        layer = f"encoder.layers.{i}"
        # nn.MultiheadAttention keeps in_proj as bare parameters and applies
        # out_proj functionally: all four projections run in self_attn itself.
        with b.group("self-attention projections", "encoder.layers.*.self_attn", "4·B·n·d²", B=batch, n=n, d=d):
            b.param(f"{layer}.self_attn.in_proj_weight", 3 * d * d)
            b.param(f"{layer}.self_attn.in_proj_bias", 3 * d)
            b.matmul(f"{layer}.self_attn", 4 * rows * d * d)
            b.linear(f"{layer}.self_attn.out_proj", d, d, rows=0, bias=True, type="NonDynamicallyQuantizableLinear")
        with b.group("attention scores and weighted sum", "encoder.layers.*.self_attn", "2·B·n²·d", B=batch, n=n, d=d):
            b.attention(f"{layer}.self_attn", batch=batch, heads=h, q_len=n, kv_len=n, head_dim=d // h)
        with b.group("feed-forward", "encoder.layers.*", "2·B·n·d·ff", B=batch, n=n, d=d, ff=ff):
            b.linear(f"{layer}.linear1", d, ff, rows=rows, bias=True)
            b.linear(f"{layer}.linear2", ff, d, rows=rows, bias=True)
        b.norm(f"{layer}.norm1", d)
        b.norm(f"{layer}.norm2", d)
    return "TransformerEncoderNet"
