"""The toy nets, addressed as ``toy:NAME``: the one registry of them.

Each entry is plain data (no torch): the hyperparameters its closed forms use,
the default input, and the name of the ``nn.Module`` class in
:mod:`modelprof.models.toy_nets` that builds it. The hyperparameters double as
the toy's config, so the analytic counter reads them like any config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

PREFIX = "toy:"


@dataclass(frozen=True)
class ToySpec:
    name: str
    description: str
    net: str  # class name in modelprof.models.toy_nets
    input_shape: tuple[int, ...]
    hyper: Mapping[str, Any] = field(default_factory=dict)
    width: tuple[str, ...] = ()  # sequence toys: hyperparameters equal to the width d (the input's last size)
    complexity: str = ""  # per layer type, after Vaswani et al. 2017, table 1 (n length, d width)

    def at_width(self, d: int) -> "ToySpec":
        """The same toy with width ``d`` (its input's last size and every width hyperparameter)."""
        if not self.width:
            raise ValueError(f"toy:{self.name} has no width to change")
        hyper = MappingProxyType({**self.hyper, **dict.fromkeys(self.width, d)})
        return ToySpec(self.name, self.description, self.net, (*self.input_shape[:-1], d), hyper, self.width, self.complexity)

    @property
    def model_type(self) -> str:
        return PREFIX + self.name

    def config(self) -> dict:
        """The toy's hyperparameters as a config dict (``model_type`` = ``toy:NAME``)."""
        return {"model_type": self.model_type, **self.hyper}


def _spec(name: str, description: str, net: str, input_shape: tuple[int, ...], width: tuple[str, ...] = (),
          complexity: str = "", **hyper: Any) -> ToySpec:
    return ToySpec(name, description, net, input_shape, MappingProxyType(hyper), width, complexity)


TOYS: Mapping[str, ToySpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            _spec(
                "tanh-net",
                "Linear(1024,1024) tanh Linear(1024,2048) tanh sigmoid, no biases: the classic net for comparing thop, ptflops and fvcore",
                "TanhNet", (1, 1024), in_features=1024, hidden=1024, out_features=2048,
            ),
            _spec(
                "mlp", "3-layer perceptron 784-256-128-10 with biases and ReLU",
                "MLP", (1, 784), in_features=784, hidden=[256, 128], out_features=10,
            ),
            _spec(
                "cnn", "two 3x3 conv blocks (conv, batch norm, ReLU, pool) and a linear classifier",
                "SmallCNN", (1, 3, 32, 32), in_channels=3, channels=[16, 32], kernel_size=3,
                image_size=32, num_classes=10,
            ),
            _spec(
                "rnn", "2-layer Elman RNN (tanh), 64 -> 128, linear head on the last step",
                "RecurrentNet", (1, 32, 64), ("input_size", "hidden_size"), "n·d²", cell="rnn", input_size=64, hidden_size=128,
                num_layers=2, num_classes=10,
            ),
            _spec(
                "lstm", "2-layer LSTM, 64 -> 128, linear head on the last step",
                "RecurrentNet", (1, 32, 64), cell="lstm", input_size=64, hidden_size=128,
                num_layers=2, num_classes=10,
            ),
            _spec(
                "gru", "2-layer GRU, 64 -> 128, linear head on the last step",
                "RecurrentNet", (1, 32, 64), cell="gru", input_size=64, hidden_size=128,
                num_layers=2, num_classes=10,
            ),
            _spec(
                "attention", "one multi-head self-attention block written with torch.matmul",
                "SelfAttention", (1, 64, 256), ("d_model",), "n²·d", d_model=256, num_heads=4,
            ),
            _spec(
                "local-attention", "restricted self-attention: each token sees a window of r tokens",
                "LocalAttention", (1, 64, 128), ("d_model",), "r·n·d", d_model=128, num_heads=4, window=8,
            ),
            _spec(
                "conv1d", "one sequence convolution d -> d, kernel k, padded to keep the length",
                "SequenceConv", (1, 64, 128), ("channels",), "k·n·d²", channels=128, kernel_size=3,
            ),
            _spec(
                "transformer", "nn.TransformerEncoder: 2 x nn.TransformerEncoderLayer(d=128, 4 heads, ff 512)",
                "TransformerEncoderNet", (1, 64, 128), d_model=128, num_heads=4,
                dim_feedforward=512, num_layers=2,
            ),
        )
    }
)


# Earlier names, still accepted (budget files may use them).
FORMER_NAMES = MappingProxyType({"seed-net": "tanh-net"})


def find_toy(name: str) -> ToySpec | None:
    """The toy named ``name`` (with or without the ``toy:`` prefix)."""
    key = name.removeprefix(PREFIX).strip().lower()
    return TOYS.get(FORMER_NAMES.get(key, key))


def toy_names() -> list[str]:
    return [PREFIX + name for name in TOYS]
