"""Real values of the small tensors a fake-tensor run can know.

A count on fake tensors has shapes but no values, so a model that reads a
value (``.item()``, ``nonzero``, a boolean mask, ``repeat_interleave`` by a
tensor) cannot run: a vision-language model counts its image placeholder
tokens, a Qwen-VL model computes its rotary positions from the image grid.
Those values never depend on the weights: they come from the inputs (token
ids, masks, image grids), from buffers and from tensors made inside the
forward (``arange``, ``ones``).

:class:`KnownValues` is a dispatch mode that runs inside ``FakeTensorMode``
and keeps, beside each fake tensor that derives only from known values, its
real value on the CPU (an op is computed for real when every tensor it reads
is known and its result is small). A data-dependent op on known values gets
its real answer; anything that depends on a weight stays unknown and fails as
before. Mutations keep the values in step (an in-place op on known values is
applied to them too; one that writes unknown data forgets the storage). A
concatenation of known and unknown values (a mask packed beside
activations) keeps its known parts: a slice or split that falls inside one
is known again.
"""

from __future__ import annotations

import torch
from torch._subclasses.fake_tensor import FakeTensor
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes
from torch.utils._pytree import tree_flatten, tree_map, tree_unflatten
from torch.utils.weak import WeakIdKeyDictionary

# a result is kept only while its storage holds up to this many elements (token ids, masks, grids,
# positions; not activations); a view (an expanded mask) costs what its storage holds
MAX_KNOWN_ELEMENTS = 1 << 22

aten = torch.ops.aten
# ops that pick positions by value: on unknown values they get a balanced choice (see KnownValues.choose)
_CHOICES = {aten.argmax.default: 0, aten.argmin.default: 0, aten.topk.default: 1, aten.max.dim: 1, aten.min.dim: 1,
            aten.sort.default: 1, aten.sort.stable: 1}
# results whose values are whatever memory held: known as zeros (as good a reading as any), so that
# writes into parts of them (``offsets[0] = 0; offsets[1:] = counts``) keep them known
_UNINITIALISED = {aten.empty.memory_format, aten.empty_like.default, aten.new_empty.default, aten.empty_strided.default,
                  aten.new_empty_strided.default}
# in-place ops whose result does not depend on what the tensor held
_OVERWRITES = {aten.fill_.Scalar, aten.fill_.Tensor, aten.copy_.default, aten.zero_.default}
# views of a part of a tensor along one dimension: known where they fall inside a known part of a concatenation
_PARTS = {aten.slice.Tensor, aten.select.int, aten.narrow.default, aten.split_with_sizes.default, aten.split.Tensor}
# ops whose fake kernel cannot say what they return without the data
_DATA_DEPENDENT = ("DataDependentOutputException", "DynamicOutputShapeException", "GuardOnDataDependentSymNode")


class KnownValues(TorchDispatchMode):
    """Track real values of small, weight-independent tensors under ``fake_mode``
    (see the module docstring). ``know(fake, real)`` seeds a value (an input,
    a buffer)."""

    def __init__(self, fake_mode):
        super().__init__()
        self.fake_mode = fake_mode
        self.values = WeakIdKeyDictionary()
        self.forgotten = Storages()  # storages an unknown value was written into
        self.uninitialised = Storages()  # storages of empty tensors nothing was written into yet
        self.choices: list[tuple[int, int, int]] = []  # (rows, positions, picks) of every choice among unknown values
        self.parts = WeakIdKeyDictionary()  # concatenation of known and unknown values -> (dim, [(start, end, real or None)])

    def __enter__(self):
        self._constants = _MetaConstants()
        self._constants.__enter__()
        return super().__enter__()

    def __exit__(self, *exc):
        try:
            return super().__exit__(*exc)
        finally:
            self._constants.__exit__(*exc)

    def know(self, fake: torch.Tensor, real: torch.Tensor) -> None:
        if _stored(real) <= MAX_KNOWN_ELEMENTS:
            with _disable_current_modes():
                self.values[fake] = real.detach().cpu()

    def value(self, tensor):
        """The real value of ``tensor`` (itself when it is a real tensor), or None."""
        if not isinstance(tensor, FakeTensor) and not tensor.is_meta:
            return tensor
        found = self.values.get(tensor)  # (most are unknown: their storage is not looked up)
        return None if found is None or tensor in self.forgotten else found

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        leaves, spec = tree_flatten((args, kwargs))
        if func in _UNINITIALISED:
            out = func(*args, **kwargs)
            self.uninitialised.add(out)
            return out
        tensors = [x for x in leaves if isinstance(x, torch.Tensor)]
        known = [self.value(t) for t in tensors]
        if func in _OVERWRITES and known and known[0] is None and isinstance(args[0], torch.Tensor):
            known[0] = self._blank(args[0])
        all_known = all(v is not None for v in known)
        if func is aten._local_scalar_dense.default and all_known:
            with _disable_current_modes():
                return known[0].item()
        try:
            out = func(*args, **kwargs)
        except Exception as error:
            if not any(name in type(error).__name__ for name in _DATA_DEPENDENT):
                raise
            return self._concrete(func, leaves, spec, tensors, known, all_known, error)
        out = tree_map(self._as_fake, out)
        if all_known and _small(out):
            self._follow(func, leaves, spec, out)
        elif func in _CHOICES and _small(out):
            self._choose(func, args, kwargs, out)
        elif func is aten.cat.default and any(v is not None for v in known):
            self._concatenated(args, kwargs, out)
        elif func in _PARTS and isinstance(args[0], torch.Tensor) and args[0] in self.parts:
            self._part_of(func, args, kwargs, out)
        elif func._schema.is_mutable:
            self._forget_written(func, args, kwargs)
        return out

    def _as_fake(self, value):
        """A plain meta tensor (``torch.tensor(..., device="meta")`` made under
        fake tensors) as a fake one, whose ``.tolist()`` asks this mode."""
        if isinstance(value, torch.Tensor) and value.is_meta and not isinstance(value, FakeTensor):
            return self.fake_mode.from_tensor(value)
        return value

    # --- known inputs: compute the real result beside the fake one -----------

    def _follow(self, func, leaves, spec, out) -> None:
        try:
            real_out = self._real(func, leaves, spec)
        except Exception:  # noqa: BLE001 - the value stays unknown, as without this mode
            if func._schema.is_mutable:
                self._forget(leaves)
            return
        fakes, _ = tree_flatten(out)
        reals, _ = tree_flatten(real_out)
        for fake, real in zip(fakes, reals):
            if isinstance(fake, torch.Tensor) and isinstance(real, torch.Tensor):
                self.know(fake, real)

    def _blank(self, tensor):
        """A real tensor to overwrite, standing for ``tensor``'s unknown
        contents. A view into an empty tensor (an element written one at a
        time: RT-DETR v2 fills its ``spatial_shapes`` so) is that place in a
        blank copy of the whole, which the write then reaches."""
        base = tensor._base
        if base is not None and tensor in self.uninitialised and self.value(base) is None:
            return self._blank_within(base, tensor)
        if tensor.numel() > MAX_KNOWN_ELEMENTS:
            return None
        with _disable_current_modes():
            blank = torch.zeros(tensor.shape, dtype=tensor.dtype)
        self.values[tensor] = blank
        self.forgotten.discard(tensor)
        return blank

    def _blank_within(self, base, view):
        """A blank (zeros) real ``base``, known from now on, and the real view
        of it at ``view``'s place."""
        self.uninitialised.discard(base)
        if base.numel() > MAX_KNOWN_ELEMENTS or not base.is_contiguous() or base.storage_offset():
            return None
        with _disable_current_modes():
            blank = torch.zeros(base.shape, dtype=base.dtype)
            place = blank.as_strided(view.shape, view.stride(), view.storage_offset())
        self.values[base] = blank
        self.values[view] = place
        return place

    def _real(self, func, leaves, spec):
        """``func`` on the real values (mutating them as it mutates the fakes),
        on the CPU, outside every mode."""
        real_leaves = [self._real_leaf(x) for x in leaves]
        real_args, real_kwargs = tree_unflatten(real_leaves, spec)
        with _disable_current_modes():
            return func(*real_args, **real_kwargs)

    def _real_leaf(self, x):
        if isinstance(x, torch.Tensor):
            return self.value(x)
        if isinstance(x, torch.device):
            return torch.device("cpu")
        return x

    def _forget_written(self, func, args, kwargs) -> None:
        """An op wrote values nobody knows into its mutable arguments."""
        for argument, value in zip(func._schema.arguments, args):
            if argument.alias_info is not None and argument.alias_info.is_write:
                self._forget(value)
        for argument in func._schema.arguments:
            if argument.alias_info is not None and argument.alias_info.is_write and argument.name in kwargs:
                self._forget(kwargs[argument.name])

    def _forget(self, value) -> None:
        for tensor in tree_flatten(value)[0]:
            if isinstance(tensor, torch.Tensor) and self.value(tensor) is not None:
                self.forgotten.add(tensor)

    # --- positions chosen among unknown values -------------------------------

    def _choose(self, func, args, kwargs, out) -> None:
        """Known positions for an arg-max, top-k or sort over unknown values
        (a router's scores): row r makes its j-th pick ``(r·k + j + c) mod E``
        of E positions, c counting earlier choices, so each row picks distinct
        positions, positions are picked equally often, and a second arg-max
        (top-2 as two arg-maxes) picks the next position."""
        indices = out if isinstance(out, torch.Tensor) else out[_CHOICES[func]]
        source, dim, keeps = args[0], *_choice_dim(func, args, kwargs)
        with _disable_current_modes():
            if dim is None:
                size, layout = source.numel(), (*indices.shape, 1)
            else:
                size = source.shape[dim] if source.dim() else 1
                layout = torch.movedim(torch.empty(indices.shape), dim, -1).shape if keeps else (*indices.shape, 1)
            rows, picks = int(torch.tensor(layout[:-1]).prod()), layout[-1]
            grid = (torch.arange(rows)[:, None] * picks + torch.arange(picks)[None, :] + len(self.choices)) % max(size, 1)
            real = grid.reshape(layout)
            real = torch.movedim(real, -1, dim) if keeps and dim is not None else real.reshape(indices.shape)
            real = real.to(indices.dtype)
        self.choices.append((rows, size, picks))
        self.know(indices, real)

    # --- known parts of a concatenation -----------------------------------------

    def _concatenated(self, args, kwargs, out) -> None:
        """Note which parts of a concatenation are known: a mask packed beside
        activations (GLM-5-Next's indexer concatenates keys, gate scores and
        the padding mask, then splits the mask off again) stays known once
        split off."""
        tensors = list(args[0])
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        dim = dim % out.dim() if out.dim() else 0
        if any(t.dim() != out.dim() for t in tensors):  # legacy empty inputs cat skips
            return
        parts, start = [], 0
        for tensor in tensors:
            end = start + tensor.shape[dim]
            parts.append((start, end, self.value(tensor)))
            start = end
        self.parts[out] = (dim, parts)

    def _part_of(self, func, args, kwargs, out) -> None:
        """A view of a concatenation's part: known when it lies inside a known
        part along the concatenated dimension; a view along another
        dimension keeps the parts, each viewed the same way."""
        source = args[0]
        dim, parts = self.parts[source]
        if source in self.forgotten:
            return

        def arg(position, name, default):
            return args[position] if len(args) > position else kwargs.get(name, default)

        size = source.shape[dim]
        if func in (aten.split_with_sizes.default, aten.split.Tensor):
            along = arg(2, "dim", 0) % source.dim()
            sizes = arg(1, "split_sizes" if func is aten.split_with_sizes.default else "split_size", None)
            if along != dim or not isinstance(out, (list, tuple)):
                return
            if isinstance(sizes, int):
                sizes = [min(sizes, size - start) for start in range(0, size, sizes)]
            start = 0
            for piece, length in zip(out, sizes):
                self._know_range(piece, parts, dim, start, start + length)
                start += length
            return
        along = arg(1, "dim", 0) % source.dim()
        if func is aten.select.int:
            index = arg(2, "index", 0) % source.shape[along]
            if along == dim:
                self._know_range(out, parts, dim, index, index + 1, squeeze=True)
            else:
                self._keep_parts(func, args, kwargs, out, parts, dim - (along < dim))
            return
        if func is aten.narrow.default:
            start, length = arg(2, "start", 0) % max(source.shape[along], 1), arg(3, "length", 0)
            step = 1
        else:
            start, end, step = arg(2, "start", None), arg(3, "end", None), arg(4, "step", 1)
            start, end, _ = slice(start, end).indices(source.shape[along])
            length = max(end - start, 0)
        if along != dim:
            self._keep_parts(func, args, kwargs, out, parts, dim)
        elif step == 1:
            self._know_range(out, parts, dim, start, start + length)

    def _know_range(self, out, parts, dim: int, start: int, end: int, squeeze: bool = False) -> None:
        for first, last, real in parts:
            if real is not None and first <= start and end <= last:
                with _disable_current_modes():
                    value = real.narrow(dim, start - first, end - start)
                    value = value.squeeze(dim) if squeeze else value
                self.know(out, value)
                return

    def _keep_parts(self, func, args, kwargs, out, parts, dim: int) -> None:
        kept = []
        for first, last, real in parts:
            if real is not None:
                with _disable_current_modes():
                    real = func(real, *args[1:], **kwargs)
            kept.append((first, last, real))
        self.parts[out] = (dim, kept)

    # --- data-dependent ops ---------------------------------------------------

    def _concrete(self, func, leaves, spec, tensors, known, all_known, error):
        """A data-dependent op answered from known values: the whole op when
        every input is known; a boolean index turned into positions; a
        ``repeat_interleave`` told its output size."""
        if all_known:
            real_out = self._real(func, leaves, spec)
            device = tensors[0].device if tensors else torch.device("meta")
            return tree_map(lambda real: self._fake_like(real, device), real_out)
        rewritten = self._rewrite(func, leaves, spec)
        if rewritten is None:
            raise error
        return rewritten

    def _fake_like(self, real, device: torch.device):
        """A fake tensor on ``device`` (the model's meta device, or the CPU a
        model moved its grid to) holding the shape of ``real``, known to be ``real``."""
        if not isinstance(real, torch.Tensor):
            return real
        with _disable_current_modes():
            template = real.to("meta") if device.type == "meta" else real.clone()
        fake = self.fake_mode.from_tensor(template)
        self.know(fake, real)
        return fake

    def _rewrite(self, func, leaves, spec):
        args, kwargs = tree_unflatten(leaves, spec)
        packet = func._overloadpacket
        if packet in (aten.index, aten._unsafe_index, aten.index_put, aten.index_put_, aten._index_put_impl_):
            indices = args[1]
            if not any(self._is_known_mask(i) for i in indices if i is not None):
                return None
            positions = []
            for index in indices:
                if self._is_known_mask(index):
                    with _disable_current_modes():
                        found = self.value(index).nonzero(as_tuple=True)
                    positions.extend(self._fake_like(p, index.device) for p in found)
                else:
                    positions.append(index)
            return func(args[0], positions, *args[2:], **kwargs)
        if packet is aten.masked_select:
            mask = self.value(args[1])
            if mask is None:
                return None
            with _disable_current_modes():
                positions = mask.expand(args[0].shape).nonzero(as_tuple=True)
            return aten.index.Tensor(args[0], [self._fake_like(p, args[1].device) for p in positions])
        if packet is aten.repeat_interleave and func is aten.repeat_interleave.self_Tensor:
            repeats = self.value(args[1])
            if repeats is None or kwargs.get("output_size") is not None:
                return None
            with _disable_current_modes():
                size = int(repeats.sum()) if repeats.dim() else int(repeats) * args[0].shape[kwargs.get("dim") or 0]
            return func(*args, **{**kwargs, "output_size": size})
        return None

    def _is_known_mask(self, index) -> bool:
        return isinstance(index, torch.Tensor) and index.dtype == torch.bool and self.value(index) is not None


class _MetaConstants(TorchFunctionMode):
    """Python-level help for :class:`KnownValues`:

    - ``torch.tensor(data, device="meta")`` under fake tensors makes a plain
      meta tensor, whose values are lost and whose ``.tolist()`` fails: make
      it on the CPU and move it, so the move passes :class:`KnownValues`;
    - ``torch.tensor([t, ...])`` of fake scalars reads them past every mode
      (and fails): read their values first (``mrope_position_deltas``, a
      list of per-row maxima, is made so);
    - ``t[:, [0, 2, 1]]`` makes its index tensor on the meta device past
      every mode, values lost: make it here, on the CPU, and move it;
    - ``f"{t}"`` of a fake scalar prints its repr: format its value instead
      (``f"expert_{index}"`` names a module), when it is known.
    """

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        device = kwargs.get("device")
        if func in (torch.tensor, torch.as_tensor) and args and isinstance(args[0], (list, tuple)):
            args, kwargs = _read_tensors(args, kwargs)
        if func in (torch.Tensor.__getitem__, torch.Tensor.__setitem__) and args[0].is_meta:
            args = (args[0], _list_indices(args[1], args[0].device), *args[2:])
        if func in (torch.tensor, torch.as_tensor) and device is not None and torch.device(device).type == "meta":
            return func(*args, **{**kwargs, "device": "cpu"}).to(device)
        if func is torch.Tensor.__format__ and args[0].dim() == 0 and args[0].is_meta:
            try:
                return format(args[0].item(), *args[1:])
            except Exception:  # noqa: BLE001 - an unknown value keeps the tensor's own format
                pass
        return func(*args, **kwargs)


def _read_tensors(args, kwargs) -> tuple[tuple, dict]:
    """``torch.tensor``'s arguments with the tensors inside its list ``data``
    read as Python numbers (their ``.tolist()``, which :class:`KnownValues`
    answers), the result keeping the first one's dtype unless one is given."""
    dtypes = []

    def read(data):
        if isinstance(data, torch.Tensor):
            dtypes.append(data.dtype)
            return data.tolist()
        if isinstance(data, (list, tuple)):
            return type(data)(read(item) for item in data)
        return data

    data = read(args[0])
    if not dtypes:
        return args, kwargs
    return (data, *args[1:]), {"dtype": dtypes[0], **kwargs}


def _list_indices(index, device):
    """An index with its lists of ints (``[0, 2, 1]``) as tensors on
    ``device``, made from the CPU so their values are known."""

    def convert(item):
        if isinstance(item, list) and item and all(isinstance(v, int) for v in item):
            return torch.tensor(item).to(device)
        return item

    return tuple(convert(item) for item in index) if isinstance(index, tuple) else convert(index)


def _choice_dim(func, args, kwargs) -> tuple[int | None, bool]:
    """(dim, whether the output keeps it) of an op in ``_CHOICES``."""
    def arg(position, name, default):
        return args[position] if len(args) > position else kwargs.get(name, default)

    if func is aten.topk.default:
        return arg(2, "dim", -1), True
    if func is aten.sort.default:
        return arg(1, "dim", -1), True
    if func is aten.sort.stable:
        return kwargs.get("dim", -1), True
    return arg(1, "dim", None), bool(arg(2, "keepdim", False))


def _small(out) -> bool:
    return sum(_stored(leaf) for leaf in tree_flatten(out)[0] if isinstance(leaf, torch.Tensor)) <= MAX_KNOWN_ELEMENTS


def _stored(tensor: torch.Tensor) -> int:
    """Elements the tensor's storage holds (a broadcast view of a mask holds only the mask)."""
    return tensor.untyped_storage().nbytes() // max(tensor.element_size(), 1)


class Storages:
    """A set of tensor storages, held weakly: a storage freed and its address
    reused by a new tensor is not mistaken for the old one."""

    def __init__(self) -> None:
        self._refs: dict = {}  # address -> StorageWeakRef

    @staticmethod
    def _ref(tensor: torch.Tensor):
        from torch.multiprocessing.reductions import StorageWeakRef

        return StorageWeakRef(tensor.untyped_storage())

    def add(self, tensor: torch.Tensor) -> None:
        ref = self._ref(tensor)
        self._refs[ref.cdata] = ref

    def discard(self, tensor: torch.Tensor) -> None:
        self._refs.pop(self._ref(tensor).cdata, None)

    def __contains__(self, tensor: torch.Tensor) -> bool:
        ref = self._refs.get(self._ref(tensor).cdata)
        if ref is None:
            return False
        if ref.expired():  # the storage it stood for is gone: this is another one at the same address
            del self._refs[ref.cdata]
            return False
        return True
