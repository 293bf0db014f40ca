"""The ``nn.Module`` classes behind the toy nets (see :mod:`modelprof.models.toys`).

Each class takes exactly the hyperparameters its registry entry lists. Their
closed-form parameter and MAC counts live in the analytic counter.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class TanhNet(nn.Module):
    """Two bias-free linears, tanh, tanh, sigmoid: the net commonly used to
    compare thop, ptflops and fvcore (all three print 3,145,728 and call it
    "flops"; it is 3,145,728 MACs).

    The activations are functional, so hook-based counters never see them.
    """

    def __init__(self, in_features: int, hidden: int, out_features: int):
        super().__init__()
        self.linear1 = nn.Linear(in_features, hidden, bias=False)
        self.linear2 = nn.Linear(hidden, out_features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.linear1(x))
        x = torch.tanh(self.linear2(x))
        return torch.sigmoid(x)


class MLP(nn.Module):
    """Linear + ReLU blocks, then a linear output layer; all with biases."""

    def __init__(self, in_features: int, hidden: list[int], out_features: int):
        super().__init__()
        widths = [in_features, *hidden]
        self.blocks = nn.Sequential(
            *(
                layer
                for fan_in, fan_out in zip(widths, widths[1:])
                for layer in (nn.Linear(fan_in, fan_out), nn.ReLU())
            )
        )
        self.head = nn.Linear(widths[-1], out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(x))


class SmallCNN(nn.Module):
    """Per stage: 'same' conv, batch norm, ReLU, 2x2 max pool; then global
    average pool and a linear classifier."""

    def __init__(self, in_channels: int, channels: list[int], kernel_size: int, image_size: int, num_classes: int):
        super().__init__()
        stages = []
        fan_in = in_channels
        for width in channels:
            stages.append(
                nn.Sequential(
                    nn.Conv2d(fan_in, width, kernel_size, padding=kernel_size // 2),
                    nn.BatchNorm2d(width),
                    nn.ReLU(),
                    nn.MaxPool2d(2),
                )
            )
            fan_in = width
        self.features = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(fan_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class RecurrentNet(nn.Module):
    """A stacked ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (batch first) and a linear
    head on the last time step."""

    CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int, num_classes: int):
        super().__init__()
        self.rnn = self.CELLS[cell](input_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class SequenceConv(nn.Module):
    """A convolution along the sequence: [B, n, d] -> [B, n, d], kernel k,
    'same' padding (odd k), so it costs k·n·d² MACs."""

    def __init__(self, channels: int, kernel_size: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.transpose(1, 2)).transpose(1, 2)


class SelfAttention(nn.Module):
    """Multi-head self-attention with explicit ``torch.matmul`` score and
    weighted-sum products (no fused kernel), and an output projection."""

    def __init__(self, d_model: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, n, d = x.shape
        q, k, v = self.qkv(x).view(batch, n, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(d // self.num_heads)
        mixed = torch.matmul(scores.softmax(dim=-1), v)
        return self.out(mixed.transpose(1, 2).reshape(batch, n, d))


class LocalAttention(nn.Module):
    """Restricted self-attention: token i attends to the ``window`` tokens
    centred on it (zero-padded at the edges), so scores cost n*r*d, not n^2*d."""

    def __init__(self, d_model: int, num_heads: int, window: int):
        super().__init__()
        self.num_heads = num_heads
        self.window = window
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, n, d = x.shape
        h, r = self.num_heads, self.window
        q, k, v = self.qkv(x).view(batch, n, 3, h, d // h).permute(2, 0, 3, 1, 4)
        pad = (0, 0, (r - 1) // 2, r // 2)
        # [batch, heads, n, head_dim, r]: the r keys / values around each position
        k_win = nn.functional.pad(k, pad).unfold(2, r, 1)
        v_win = nn.functional.pad(v, pad).unfold(2, r, 1)
        scores = torch.einsum("bhnd,bhndr->bhnr", q, k_win) / math.sqrt(d // h)
        mixed = torch.einsum("bhnr,bhndr->bhnd", scores.softmax(dim=-1), v_win)
        return self.out(mixed.transpose(1, 2).reshape(batch, n, d))


class TransformerEncoderNet(nn.Module):
    """``nn.TransformerEncoder`` over ``nn.TransformerEncoderLayer`` (batch first,
    post-norm, ReLU). In eval mode under no_grad on real tensors PyTorch takes a
    fused fast path that hides every op from operator-level counters."""

    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int, num_layers: int):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model, num_heads, dim_feedforward, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)
