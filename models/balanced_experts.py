"""The mixture-of-experts routing modelprof counts and measures under.

transformers' experts modules (those under ``use_experts_implementation``)
take their forward from a registry keyed by ``experts_implementation``.
modelprof registers one more entry: every (token, k) pair goes through one
expert, the pairs dealt to the experts in equal contiguous shares (the first
``S mod E`` experts take one more), so each token meets exactly ``k`` routed
experts, as the analytic counter assumes. Per expert it is the same
``linear`` calls as transformers' eager loop on the same number of rows, so:

- MACs are tokens x k x one expert's cost, whatever the router would pick;
- the tensors autograd saves are those of the eager loop (one expert's
  weights are views of its parameter, never copies);
- shapes are static, so it runs on fake tensors (the eager loop's
  ``nonzero`` cannot), and real-tensor tools see ordinary matmuls.

transformers' ``batched_mm`` instead gathers a full copy of the expert's
weights for every pair: the same MACs, but 120 GB per Mixtral layer at 128
tokens on real tensors, and as many "activations" saved for backward.
The router still runs, and its scores weigh the experts' outputs.
"""

from __future__ import annotations

IMPLEMENTATION = "modelprof-balanced"


def register() -> str:
    """Add the implementation to transformers' experts registry (idempotent)
    and return its name, for ``experts_implementation=``."""
    from transformers.integrations.moe import ALL_EXPERTS_FUNCTIONS

    if IMPLEMENTATION not in ALL_EXPERTS_FUNCTIONS:
        ALL_EXPERTS_FUNCTIONS.register(IMPLEMENTATION, balanced_experts_forward)
    return IMPLEMENTATION


def shares(pairs: int, experts: int) -> list[int]:
    """Rows per expert when ``pairs`` rows are dealt to ``experts`` in equal contiguous shares."""
    return [pairs // experts + (1 if e < pairs % experts else 0) for e in range(experts)]


def balanced_experts_forward(self, hidden_states, top_k_index, top_k_weights):
    """Experts forward with the signature of transformers' implementations:
    ``hidden_states`` (T, H), ``top_k_index`` and ``top_k_weights`` (T, k);
    returns (T, H)."""
    import torch

    tokens, top_k = top_k_index.shape
    rows = hidden_states.repeat_interleave(top_k, dim=0)  # (T·k, H), token-major, as batched_mm lays them out
    first = self.gate_up_proj if self.has_gate else self.up_proj
    outputs = []
    for expert, chunk in enumerate(rows.split(shares(tokens * top_k, first.shape[0]))):
        if self.has_gate:
            hidden = self._apply_gate(_linear(self, chunk, self.gate_up_proj, "gate_up_proj_bias", expert))
        else:
            hidden = self.act_fn(_linear(self, chunk, self.up_proj, "up_proj_bias", expert))
        out = _linear(self, hidden, self.down_proj, "down_proj_bias", expert)
        if self.has_post_expert_norm:
            out = self.post_expert_norm(out)
        outputs.append(out)
    weighted = torch.cat(outputs) * top_k_weights.reshape(-1, 1).to(rows.dtype)
    return weighted.view(tokens, top_k, -1).sum(dim=1).to(hidden_states.dtype)


def _linear(self, rows, weights, bias_name: str, expert: int):
    """``rows`` through ``expert``'s slice of ``weights`` ([E, out, in], or
    [E, in, out] when the module stores them transposed)."""
    import torch

    weight = weights[expert]
    bias = getattr(self, bias_name)[expert] if self.has_bias else None
    if self.is_transposed:
        out = rows @ weight
        return out + bias if bias is not None else out
    return torch.nn.functional.linear(rows, weight, bias)
