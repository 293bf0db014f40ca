"""The parameter tree of an analysis, shaped like ``params.count_parameters``
builds it from a real module, so ``--counters analytic`` needs no torch."""

from __future__ import annotations

from ..params import DTYPE_BYTES, ModuleParams, ParamReport
from . import Analysis


def param_report(analysis: Analysis, dtype: str | None) -> ParamReport:
    """Rows in tree order with subtree sums; module types are known only for
    leaves (the root shows the class)."""
    width = DTYPE_BYTES[dtype or "fp32"]
    children: dict[str, list[str]] = {"": []}
    own: dict[str, list[int]] = {"": [0, 0]}  # path -> [params, embedding params]
    types: dict[str, str] = {"": analysis.class_name}
    for leaf in analysis.leaves:
        parts = leaf.path.split(".") if leaf.path else []
        for i in range(1, len(parts) + 1):
            path, parent = ".".join(parts[:i]), ".".join(parts[: i - 1])
            if path not in own:
                own[path] = [0, 0]
                children.setdefault(parent, []).append(path)
                children.setdefault(path, [])
                types[path] = ""
        types[leaf.path] = leaf.type if leaf.path else analysis.class_name
        embedding = leaf.category == "embedding" or (leaf.type == "Parameter" and "embed" in leaf.path.rsplit(".", 1)[-1])
        own[leaf.path][0] += leaf.params
        own[leaf.path][1] += leaf.params if embedding else 0

    totals: dict[str, list[int]] = {}

    def total(path: str) -> list[int]:
        sums = list(own[path])
        for child in children[path]:
            sub = total(child)
            sums = [a + b for a, b in zip(sums, sub)]
        totals[path] = sums
        return sums

    total("")
    rows: list[ModuleParams] = []

    def walk(path: str, depth: int) -> None:
        if path not in analysis.containers:
            params, embedding = totals[path]
            rows.append(ModuleParams(path, types[path], depth, params, params, embedding, params * width))
        inner = depth if path in analysis.containers else depth + 1
        for child in children[path]:
            walk(child, inner)

    walk("", 0)
    return ParamReport(modules=tuple(rows), tied=(), dtype=dtype or "fp32")
