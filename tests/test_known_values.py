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
