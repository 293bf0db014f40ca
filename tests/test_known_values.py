"""Values fake tensors can know (profilers/counters/known_values.py)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def test_an_empty_tensor_written_element_by_element_is_known():
    """RT-DETR v2 fills ``spatial_shapes`` one element at a time, then checks a sum with ``.item()``."""
    from torch._subclasses.fake_tensor import DataDependentOutputException, FakeTensorMode

    from modelprof.profilers.counters.known_values import KnownValues

    fake_mode = FakeTensorMode(allow_non_fake_inputs=True)
    with fake_mode, KnownValues(fake_mode):
        shapes = torch.empty((2, 2), dtype=torch.long, device="meta")
        for level, (height, width) in enumerate([(3, 4), (5, 6)]):
            shapes[level, 0] = height
            shapes[level, 1] = width
        assert int((shapes[:, 0] * shapes[:, 1]).sum()) == 42
        unwritten = torch.empty((2,), dtype=torch.long, device="meta")
        with pytest.raises(DataDependentOutputException):
            int(unwritten.sum())  # nothing was written: still unknown


def test_a_known_mask_concatenated_with_activations_is_known_once_split_off():
    """GLM-5-Next's indexer packs its padding mask beside keys and gate scores
    (``torch.cat``), then splits it off again and pools by it (``nonzero``)."""
    from torch._subclasses.fake_tensor import DynamicOutputShapeException, FakeTensorMode

    from modelprof.profilers.counters.known_values import KnownValues

    fake_mode = FakeTensorMode(allow_non_fake_inputs=True)
    with fake_mode, KnownValues(fake_mode) as known:
        mask = torch.tensor([[1, 1, 0, 1]], device="meta").bool()
        keys = torch.empty(1, 4, 3, device="meta")  # activations: unknown
        packed = torch.cat([keys, mask.to(keys.dtype)[..., None]], dim=-1)
        assert known.value(packed) is None
        _, split = torch.split(packed, [3, 1], dim=-1)
        assert split.bool().squeeze(-1).nonzero().tolist() == [[0, 0], [0, 1], [0, 3]]
        assert packed[..., -1].bool().nonzero().tolist() == [[0, 0], [0, 1], [0, 3]]  # select
        assert packed[:, 1:][..., -1].bool().nonzero().tolist() == [[0, 0], [0, 2]]  # a slice along another dim first
        assert packed.narrow(-1, 3, 1).sum().item() == 3
        with pytest.raises(DynamicOutputShapeException):
            packed[..., 2].nonzero()  # a column of the keys: still unknown
