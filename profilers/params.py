"""Parameter accounting of a built module: a tree of counts by module.

Conventions:
- A tensor shared by several modules (tied weights) is counted once, at the
  first module that owns it in ``named_modules()`` order; every later owner
  lists it under ``tied``.
- ``ModuleList`` / ``ModuleDict`` containers are transparent: their items are
  children of the container's parent, one level deeper than it (so
  ``encoder.layer.0`` sits at depth 2 under ``encoder``).
- A module that has children and also owns parameters directly gets one row
  per such parameter (type ``Parameter``), so children always sum to their
  parent.
- Embedding parameters: those of ``nn.Embedding`` / ``nn.EmbeddingBag``
  modules, plus directly owned parameters whose name contains ``embed``
  (position embeddings kept as a bare ``nn.Parameter``, as in ViT).
- Bytes: the parameter count times the size of ``dtype`` when given, else of
  each tensor's own dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

DTYPE_BYTES = {"fp64": 8, "fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1}
# torch / config spellings -> our labels
DTYPE_ALIASES = {
    "float64": "fp64", "double": "fp64", "float32": "fp32", "float": "fp32",
    "bfloat16": "bf16", "float16": "fp16", "half": "fp16", "int8": "int8",
    "float8_e4m3fn": "fp8", "float8_e5m2": "fp8",
}
CONTAINER_TYPES = ("ModuleList", "ModuleDict")


@dataclass(frozen=True)
class ModuleParams:
    """One row of the tree; counts are for the whole subtree."""

    path: str  # "" is the root; dotted named_modules() names below it
    type: str  # class name, or "Parameter" for a directly owned tensor
    depth: int
    params: int
    trainable: int
    embedding: int
    bytes: int
    tied: tuple[str, ...] = ()  # "name -> owner.path" for tensors counted elsewhere


@dataclass(frozen=True)
class TiedParam:
    param: str  # full dotted name of the alias
    same_as: str  # full dotted name of the tensor where it is counted
    params: int = 0  # elements of the shared tensor


@dataclass(frozen=True)
class ParamReport:
    modules: tuple[ModuleParams, ...]  # tree order, root first
    tied: tuple[TiedParam, ...]
    dtype: str  # a DTYPE_BYTES label, or "mixed" when sized by each tensor's own dtype

    @property
    def root(self) -> ModuleParams:
        return self.modules[0]

    @property
    def total(self) -> int:
        return self.root.params

    @property
    def trainable(self) -> int:
        return self.root.trainable

    @property
    def frozen(self) -> int:
        return self.total - self.trainable

    @property
    def embedding(self) -> int:
        return self.root.embedding

    @property
    def non_embedding(self) -> int:
        return self.total - self.embedding

    @property
    def bytes(self) -> int:
        return self.root.bytes

    def rows(self, max_depth: int | None = None, show_empty: bool = True) -> list[ModuleParams]:
        """Rows down to ``max_depth``; without ``show_empty``, only the root and
        modules that hold parameters (or tied aliases)."""
        return [
            m
            for m in self.modules
            if (max_depth is None or m.depth <= max_depth) and (show_empty or m.params or m.tied or not m.path)
        ]


def normalize_dtype(name: str | None) -> str | None:
    """Map ``bf16`` / ``bfloat16`` / ``torch.bfloat16`` to our label, None stays None."""
    if name is None:
        return None
    key = str(name).lower().removeprefix("torch.")
    label = DTYPE_ALIASES.get(key, key)
    if label not in DTYPE_BYTES:
        raise ValueError(f"unknown dtype {name!r} (choose from {', '.join(DTYPE_BYTES)})")
    return label


def count_parameters(model, *, dtype: str | None = None) -> ParamReport:
    """Account the parameters of ``model`` (any ``nn.Module``, meta tensors fine)."""
    import torch.nn as nn

    label = normalize_dtype(dtype)
    size_override = DTYPE_BYTES[label] if label else None
    native: set[str] = set()  # labels of the tensors' own dtypes
    owner_of: dict[int, str] = {}  # id(tensor) -> full name where it is counted
    tied: list[TiedParam] = []
    own: dict[str, list[int]] = {}  # path -> [params, trainable, embedding, bytes]
    tied_here: dict[str, list[str]] = {}
    param_rows: dict[str, list[ModuleParams]] = {}
    types: dict[str, str] = {}
    children: dict[str, list[str]] = {}
    modules = list(model.named_modules(remove_duplicate=False))
    for path, module in modules:
        types[path] = type(module).__name__
        if path:
            children.setdefault(path.rpartition(".")[0], []).append(path)
        counts = [0, 0, 0, 0]
        has_children = any(True for _ in module.children())
        is_embedding = isinstance(module, (nn.Embedding, nn.EmbeddingBag))
        for name, tensor in module.named_parameters(recurse=False, remove_duplicate=False):
            full = f"{path}.{name}" if path else name
            if id(tensor) in owner_of:
                tied.append(TiedParam(full, owner_of[id(tensor)], tensor.numel()))
                tied_here.setdefault(path, []).append(f"{name} -> {owner_of[id(tensor)]}")
                continue
            owner_of[id(tensor)] = full
            native.add(str(tensor.dtype))
            n = tensor.numel()
            row = [
                n,
                n if tensor.requires_grad else 0,
                n if is_embedding or "embed" in name.lower() else 0,
                n * (size_override or tensor.element_size()),
            ]
            counts = [a + b for a, b in zip(counts, row)]
            if has_children:
                param_rows.setdefault(path, []).append(ModuleParams(full, "Parameter", 0, *row))
        own[path] = counts

    totals: dict[str, list[int]] = {}
    for path, _ in reversed(modules):  # children come after their parent
        total = list(own[path])
        for child in children.get(path, []):
            total = [a + b for a, b in zip(total, totals[child])]
        totals[path] = total

    rows: list[ModuleParams] = []
    depth_of: dict[str, int] = {"": 0}
    for path, _ in modules:
        if path:
            parent = path.rpartition(".")[0]
            depth_of[path] = depth_of[parent] + (0 if types[parent] in CONTAINER_TYPES else 1)
        if path and types[path] in CONTAINER_TYPES:
            continue
        depth = depth_of[path]
        rows.append(ModuleParams(path, types[path], depth, *totals[path], tied=tuple(tied_here.get(path, ()))))
        rows.extend(
            ModuleParams(r.path, r.type, depth + 1, r.params, r.trainable, r.embedding, r.bytes)
            for r in param_rows.get(path, ())
        )
    if label is None:
        own = native.pop().removeprefix("torch.") if len(native) == 1 else "mixed"
        label = DTYPE_ALIASES.get(own, own)
    return ParamReport(modules=tuple(rows), tied=tuple(tied), dtype=label)
