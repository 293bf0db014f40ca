"""Reconciliation: every counter's records -> one table with reasons (pure).

Rows are modules (the canonical paths of ``params``) down to a depth, or
operator categories. Each cell is a counter's MACs for the row's subtree; a
cell that differs from the reference, or whose counter also counted non-MAC
operations, gets a reason built from what that counter saw there: which
categories it counted more or less of than the reference, which operators it
met but did not count, which modules never ran under it, which parameters it
did not attribute.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .params import ModuleParams, TiedParam
from .records import MAC_CATEGORIES, OTHER_CATEGORIES, CounterResult


@dataclass(frozen=True)
class Finding:
    """One reason a counter's cell differs from the reference."""

    kind: str  # missing | fewer | bias | more | other_ops | params
    category: str  # an operator category, or "params"
    amount: int  # signed MACs (other ops for other_ops, params for params)
    text: str  # the full sentence

    @property
    def tag(self) -> str:
        """A few characters for a table cell."""
        if self.kind in ("missing", "fewer"):
            return f"-{self.category}"
        if self.kind == "bias":
            return "+bias"
        if self.kind == "more":
            return f"+{self.category}"
        if self.kind == "other_ops":
            return "+other"
        return "≠params"


@dataclass(frozen=True)
class Row:
    path: str  # module path ("" is the root); "" in the operator view
    op: str | None  # the category in the operator view, None in the module view
    depth: int
    type: str
    params: int
    reference: int | None  # MACs of the reference counter
    values: dict[str, int | None]  # counter -> MACs, None when it has no result
    other_ops: dict[str, int]  # counter -> non-MAC operations it counted here
    findings: dict[str, tuple[Finding, ...]] = field(default_factory=dict)  # counter -> why it differs

    @property
    def reasons(self) -> dict[str, str]:
        return {name: "; ".join(f.text for f in found) for name, found in self.findings.items()}


@dataclass(frozen=True)
class Reconciliation:
    reference: str | None
    view: str  # "module" or "op"
    rows: tuple[Row, ...]


@dataclass
class _Tally:
    """A counter's records summed over a row's subtree."""

    macs: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # category -> MACs
    other: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # category -> ops
    leaf: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))  # (path, category) -> MACs
    ops: dict[str, set] = field(default_factory=lambda: defaultdict(set))  # category -> the tool's own op names

    @property
    def total(self) -> int:
        return sum(self.macs.values())

    @property
    def other_total(self) -> int:
        return sum(self.other.values())


def _in(path: str, root: str) -> bool:
    return not root or path == root or path.startswith(root + ".")


def _tally(result: CounterResult, root: str, only: str | None = None) -> _Tally:
    tally = _Tally()
    for record in result.records:
        if not _in(record.path, root) or (only is not None and record.op != only):
            continue
        if record.macs:
            tally.macs[record.op] += record.macs
            tally.leaf[(record.path, record.op)] += record.macs
            tally.ops[record.op].update(record.source_ops)
        if record.other_ops:
            tally.other[record.op] += record.other_ops
    return tally


def reconcile(
    results: dict[str, CounterResult],
    *,
    reference: str | None,
    modules: list[ModuleParams],
    biases: dict[str, int],
    blind_spots: dict[str, dict[str, str]],
    depth: int,
    view: str = "module",
    tied: tuple[TiedParam, ...] = (),
) -> Reconciliation:
    """Rows of the table; ``modules`` are the params rows (all depths, empty
    modules included), ``biases`` the bias size of each module owning one,
    ``blind_spots`` each counter's own account of what it cannot see, by
    category, ``tied`` the model's shared tensors (a tool may count them at
    every module that holds them)."""
    usable = {name: r for name, r in results.items() if r.ok}
    ref = usable.get(reference) if reference else None
    explain = _Explainer(biases, blind_spots, modules, tied)
    rows: list[Row] = []
    if view == "op":
        present = {r.op for result in usable.values() for r in result.records}
        for op in [c for c in (*MAC_CATEGORIES, *OTHER_CATEGORIES) if c in present]:
            rows.append(_row(results, ref, reference, explain, path="", op=op, depth=0, type_="", params=0))
    else:
        for module in modules:
            if module.depth > depth:
                continue
            row = _row(
                results, ref, reference, explain,
                path=module.path, op=None, depth=module.depth, type_=module.type, params=module.params,
            )
            counted = any(row.values.values()) or any(row.other_ops.values()) or row.reference
            if module.path == "" or module.params or counted:
                rows.append(row)
    return Reconciliation(reference if ref else None, view, tuple(rows))


def _row(results, ref, reference, explain, *, path, op, depth, type_, params) -> Row:
    ref_tally = _tally(ref, path, op) if ref else None
    values: dict[str, int | None] = {}
    other: dict[str, int] = {}
    findings: dict[str, tuple[Finding, ...]] = {}
    for name, result in results.items():
        if not result.ok:
            values[name] = None
            continue
        tally = _tally(result, path, op)
        values[name] = tally.total
        other[name] = tally.other_total
        if name != reference and ref_tally is not None:
            found = explain(name, result, tally, ref_tally, path, params if path == "" and op is None else None)
            if found:
                findings[name] = tuple(found)
    return Row(path, op, depth, type_, params, ref_tally.total if ref_tally else None, values, other, findings)


def _why(result: CounterResult) -> str:
    """The counter's own account of idle modules, if it gave one."""
    return f"; {result.notes[0]}" if result.notes else ": a fused kernel ran instead of their forward"


class _Explainer:
    def __init__(self, biases: dict[str, int], blind_spots: dict, modules: list[ModuleParams], tied: tuple[TiedParam, ...]):
        self.biases = biases
        self.blind_spots = blind_spots
        self.tied = tied
        ancestors = {m.path[:i] for m in modules for i, char in enumerate(m.path) if char == "."}
        self.leaves = {m.path: m for m in modules if m.path and m.path not in ancestors}

    def __call__(self, name, result, mine: _Tally, ref: _Tally, path: str, model_params: int | None) -> list[Finding]:
        found: list[Finding] = []
        for kind in MAC_CATEGORIES:
            have, want = mine.macs.get(kind, 0), ref.macs.get(kind, 0)
            delta = have - want
            if delta < 0:
                how = "missing" if have == 0 else "fewer"
                verb = "misses" if have == 0 else "counts fewer"
                text = f"{verb} {kind} MACs ({delta:+,}){self._evidence(name, result, path, kind)}"
                found.append(Finding(how, kind, delta, text))
            elif delta > 0:
                found.append(self._extra(kind, delta, mine, ref))
        if mine.other_total:
            kinds = ", ".join(k for k in OTHER_CATEGORIES if mine.other.get(k))
            text = f"also counts {mine.other_total:,} non-MAC ops ({kinds}) in its own total; kept in other_ops"
            found.append(Finding("other_ops", kinds, mine.other_total, text))
        if model_params is not None and result.params is not None and result.params != model_params:
            found.append(Finding("params", "params", result.params - model_params, self._params(result, model_params)))
        return found

    def _extra(self, kind: str, delta: int, mine: _Tally, ref: _Tally) -> Finding:
        leaves = {p for (p, k) in list(mine.leaf) + list(ref.leaf) if k == kind}
        deltas = {p: mine.leaf.get((p, kind), 0) - ref.leaf.get((p, kind), 0) for p in leaves}
        extra = {p: d for p, d in deltas.items() if d}
        if extra and all(d > 0 and self.biases.get(p) and d % self.biases[p] == 0 for p, d in extra.items()):
            return Finding("bias", kind, delta, f"counts the bias adds of {kind} layers as MACs ({delta:+,})")
        counted_as = ", ".join(sorted(mine.ops.get(kind, ())))
        return Finding("more", kind, delta, f"counts more {kind} MACs ({delta:+,}; counted as {counted_as})")

    def _evidence(self, name: str, result: CounterResult, path: str, kind: str) -> str:
        seen: dict[str, int] = defaultdict(int)
        for item in result.uncounted:
            if _in(item.path, path) and item.category == kind:
                seen[item.op] += item.calls
        if seen:
            ops = ", ".join(f"{op} x{n}" for op, n in sorted(seen.items()))
            return f": saw {ops} but has no formula for it"
        idle = [m for m in result.idle_modules if _in(m, path)]
        if idle:
            return f": {len(idle)} module(s) with weights did no work it could count (e.g. {idle[0]}){_why(result)}"
        spot = self.blind_spots.get(name, {}).get(kind)
        return f": {spot}" if spot else ""

    def _params(self, result: CounterResult, model_params: int) -> str:
        """Why a tool's parameter total differs: modules it attributes nothing
        to, and tied tensors it counts again at each module sharing them."""
        text = f"reports {result.params:,} params, the model has {model_params:,}"
        missed: dict[str, list[int]] = defaultdict(list)
        if result.module_params:
            for path, leaf in self.leaves.items():
                if leaf.params and not result.module_params.get(path):
                    missed[leaf.type].append(leaf.params)
            again = [t for t in self.tied if result.module_params.get(t.param.rpartition(".")[0])]
        else:  # only a total: tied tensors explain it when they account for the whole difference
            extra = sum(t.params for t in self.tied)
            again = list(self.tied) if extra and result.params - model_params == extra else []
        reasons = []
        if missed:
            listed = ", ".join(f"{t} x{len(n)} ({sum(n):,})" for t, n in sorted(missed.items(), key=lambda kv: -sum(kv[1])))
            reasons.append(f"it attributes none to {listed}")
        if again:
            shown = ", ".join(f"{t.param} ({t.params:,})" for t in again[:3])
            more = f" and {len(again) - 3} more" if len(again) > 3 else ""
            total = f" (+{sum(t.params for t in again):,} in all)" if len(again) > 1 else ""
            reasons.append(f"it counts tied weights again where they are shared: {shown}{more}{total}")
        return text + (": " + "; ".join(reasons) if reasons else "")
