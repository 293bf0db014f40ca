"""``modelprof scale MODEL``: how the cost grows with the sequence length."""

from __future__ import annotations

from enum import Enum
from fractions import Fraction
from typing import Annotated, Optional

import typer

from ..models.inputs import InputSpec
from ..profilers.errors import BadInput
from ..profilers.fitting import Polynomial
from ..profilers.layer_parts import FFN, SELF_ATTENTION
from ..profilers.pipeline import DEFAULT_TIMEOUT_S
from ..profilers.scale import LayerType, ScaleRequest, ScaleResult, compare_layer_types, profile_scale
from .flops_cmd import Attn, Mode
from .options import BaseOpt, FormatOpt, TimeoutOpt, TrustRemoteCodeOpt
from .params_cmd import model_title
from .progress import progress_line
from .render import Column, OutputFormat, View, count, emit, percent, si

SCHEMA_VERSION = 1
CROSSOVER_LABELS = {
    "attention_over_ffn": "self-attention > FFN",
    "quadratic_over_linear": "n² products > all linear MACs",
    "attention_over_ffn_causal": "self-attention > FFN (causal half)",
    "quadratic_over_linear_causal": "n² products > linear (causal half)",
    "attention_over_ffn_windowed": "self-attention > FFN (windowed)",
    "quadratic_over_linear_windowed": "n² products > linear (windowed)",
}

PART_KEYS = ("linear", "attention", "conv", "recurrent")  # always in a point's "parts", 0 when absent


class Source(str, Enum):
    analytic = "analytic"
    torch = "torch"


def scale(
    model: Annotated[Optional[str], typer.Argument(metavar="MODEL", help="A model as `flops` takes it (omit with --compare).", show_default=False)] = None,
    seq_len: Annotated[Optional[str], typer.Option("--seq-len", "-n", metavar="LENGTHS", help="Lengths: a list (128,512,2048) or a doubling range (128:65536) [default: doubling from 128 past both crossovers]; with --mode decode, the new tokens per step (default 1).", show_default=False)] = None,
    context: Annotated[Optional[str], typer.Option("--context", metavar="TOKENS", help="--mode decode: cached tokens, a list or a doubling range [default: 128:32768].", show_default=False)] = None,
    batch: Annotated[Optional[int], typer.Option("--batch", "-b", min=1, metavar="N", help="Batch size [default: 1].", show_default=False)] = None,
    mode: Annotated[Mode, typer.Option("--mode", help="forward; train (forward + backward, torch counter); decode (one step against a cache of --context tokens).")] = Mode.forward,
    counter: Annotated[Optional[Source], typer.Option("--counter", help="Where the counts come from [default: analytic where it knows the model, else torch].", show_default=False)] = None,
    causal_half: Annotated[bool, typer.Option("--causal-half", help="Totals with half the attention products of causal models (Megatron-LM's convention since 2025).")] = False,
    linear_d_mult: Annotated[int, typer.Option("--linear-d-mult", min=1, metavar="M", help="Linear-attention break-even with feature size d' = M·d (and d' = d).")] = 4,
    compare: Annotated[Optional[str], typer.Option("--compare", metavar="TOYS", help="Per layer type: comma-separated sequence toys, e.g. toy:attention,toy:local-attention,toy:rnn,toy:conv1d.", show_default=False)] = None,
    width: Annotated[int, typer.Option("--width", min=1, metavar="D", help="--compare: the width d every layer type is built with.")] = 128,
    plot: Annotated[Optional[str], typer.Option("--plot", metavar="[FILE]", help="Plot MACs against length: in the terminal (--plot alone), or into FILE.png / FILE.svg (needs modelprof[plot]).", show_default=False)] = None,
    attn: Annotated[Optional[Attn], typer.Option("--attn", help="Attention implementation of HuggingFace models (torch counter).")] = None,
    base: BaseOpt = False,
    fmt: FormatOpt = OutputFormat.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
    trust_remote_code: TrustRemoteCodeOpt = False,
) -> None:
    """How the cost grows with the sequence length: the exact polynomial, crossovers, plots."""
    if plot is not None:
        from . import plots

        plots.check_available(plot)
    if compare:
        if model:
            raise BadInput("give either a MODEL or --compare, not both")
        types = compare_layer_types([n.strip() for n in compare.split(",") if n.strip()], width=width,
                                    lengths=parse_lengths(seq_len, "--seq-len") if seq_len else ())
        emit(compare_view(types), fmt)
        if plot is not None:
            from . import plots

            plots.compare(types, plot)
        return
    if model is None:
        raise BadInput("give a MODEL (or --compare TOYS)")
    if mode is not Mode.decode and context:
        raise BadInput("--context applies to --mode decode")
    new_tokens = None
    lengths: tuple[int, ...] = ()
    if mode is Mode.decode:
        lengths = parse_lengths(context, "--context") if context else tuple(128 * 2**k for k in range(9))
        if seq_len:
            new_tokens = int(seq_len) if seq_len.isdigit() else _refuse(f"--seq-len {seq_len!r}: with --mode decode, one number (new tokens)")
    elif seq_len:
        lengths = parse_lengths(seq_len, "--seq-len")
    spec = InputSpec.from_options(batch=batch, seq_len=new_tokens)
    request = ScaleRequest(model, spec, mode.value, counter.value if counter else None, lengths, causal_half,
                           linear_d_mult, base, attn.value if attn else None, trust_remote_code, timeout)
    with progress_line(fmt in (OutputFormat.table, OutputFormat.markdown), f"scale {model}") as on_progress:
        result = profile_scale(request, on_progress)
    emit(scale_view(result), fmt)
    if plot is not None:
        from . import plots

        plots.scale(result, plot)


def _refuse(message: str):
    raise BadInput(message)


def parse_lengths(text: str, flag: str) -> tuple[int, ...]:
    """``128,512,2048`` or ``128:65536`` (doubling) -> sorted distinct lengths."""
    text = text.strip()
    try:
        if ":" in text:
            start, stop = (int(part) for part in text.split(":"))
            if start < 1 or stop < start:
                raise ValueError
            lengths = [start]
            while lengths[-1] * 2 <= stop:
                lengths.append(lengths[-1] * 2)
        else:
            lengths = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise BadInput(f"{flag} {text!r}: expected lengths like 128,512,2048 or a doubling range like 128:65536") from None
    if not lengths or any(n < 1 for n in lengths):
        raise BadInput(f"{flag} {text!r}: lengths must be positive")
    if len(lengths) > 64:
        raise BadInput(f"{flag} {text!r}: at most 64 lengths")
    return tuple(sorted(set(lengths)))


# ---------------------------------------------------------------------------
# the polynomial in words
# ---------------------------------------------------------------------------


def formula(result: ScaleResult) -> str:
    """MACs(x) as L·(one layer) + the rest, coefficients written in the
    model's sizes where they divide (BERT-base: 12·(12·n·768² + 2·n²·768) + 768²)."""
    if result.total is None:
        return ""
    x, units = result.variable, _units(result)
    pieces = []
    rest = dict(result.total.terms)
    for form in sorted(result.forms, key=lambda f: -len(f.layers)):
        layer = _layer_formula(form.attention, form.ffn, x, units)
        if not layer:
            continue
        pieces.append(f"{len(form.layers)}·({layer})" if len(form.layers) > 1 else layer)
        for k in set(form.attention.terms) | set(form.ffn.terms):
            rest[k] = rest.get(k, 0) - len(form.layers) * (form.attention.coefficient(k) + form.ffn.coefficient(k))
    if result.convention == "causal-half" and result.forms:
        pieces = [p + " (products halved)" for p in pieces[:1]] + pieces[1:]
    tail = [_term(c, k, x, units) for k, c in sorted(rest.items(), reverse=True) if c]
    return " + ".join(pieces + tail) or "0"


def expanded(poly: Polynomial, x: str) -> str:
    """``18,432·n² + 84,934,656·n + 589,824``."""
    terms = [f"{c:,}" + {0: "", 1: f"·{x}"}.get(k, f"·{x}{_power(k)}") for k, c in sorted(poly.terms.items(), reverse=True)]
    return " + ".join(terms).replace("+ -", "− ") or "0"


def _power(k: int) -> str:
    return {2: "²", 3: "³"}.get(k, f"^{k}")


def _units(result: ScaleResult) -> list[tuple[str, int]]:
    """Products of the model's sizes a coefficient may be a small multiple of: H², H·F, H·V, H."""
    h = result.shape.hidden
    if not h:
        return []
    return [(f"{h}²", h * h), *((f"{h}·{other}", h * other) for other in result.shape.sizes), (f"{h}", h)]


def _layer_formula(attention: Polynomial, ffn: Polynomial, x: str, units) -> str:
    linear = [(attention.coefficient(1), "a"), (ffn.coefficient(1), "f")]
    merged = _merge(linear[0][0], linear[1][0], units)
    terms = []
    if merged is not None:
        terms.append(_term(merged, 1, x, units))
    else:
        terms += [_term(c, 1, x, units) for c, _ in linear if c]
    if attention.coefficient(2):
        terms.insert(1 if terms else 0, _term(attention.coefficient(2), 2, x, units))
    constants = attention.coefficient(0) + ffn.coefficient(0)
    if constants:
        terms.append(_term(constants, 0, x, units))
    return " + ".join(terms)


def _merge(a: int, f: int, units) -> int | None:
    """a + f when both are small multiples of the same size product (BERT's 4·768² + 8·768²)."""
    if not a or not f:
        return (a or f) or None
    for _, unit in units:
        if a % unit == 0 and f % unit == 0 and (a + f) // unit <= 64:
            return a + f
    return None


def _term(c: int, power: int, x: str, units) -> str:
    variable = {0: "", 1: x}.get(power, f"{x}{_power(power)}")
    for label, unit in units:
        if c % unit == 0 and 0 < c // unit <= 64:
            factor = c // unit
            return "·".join(p for p in (str(factor) if factor != 1 else "", variable, label) if p)
    return "·".join(p for p in (f"{c:,}", variable) if p)


# ---------------------------------------------------------------------------
# views
# ---------------------------------------------------------------------------


def _threshold(value: Fraction | None) -> str:
    if value is None:
        return "never"
    return f"{value.numerator:,}" if value.denominator == 1 else f"{float(value):,.1f}"


def scale_payload(result: ScaleResult) -> dict:
    """The JSON contract of ``scale``."""
    fit = result.fit
    return {
        "schema_version": SCHEMA_VERSION,
        "model": result.model.as_json(),
        "input": {"batch": result.spec.batch, "variable": result.variable,
                  **({"new_tokens": result.spec.seq_len} if result.mode == "decode" else {})},
        "mode": result.mode,
        "convention": result.convention,
        "polynomial": {
            "variable": result.variable,
            "terms": {str(k): c for k, c in sorted(result.total.terms.items())} if result.total else None,
            "source": result.source,
            "fit_at": list(fit.fit_at),
            "verified_at": list(fit.verified_at) if fit.ok else [],
            "reason": fit.reason,
        },
        "points": [
            {
                result.variable: p.x, "macs": p.macs, "flops": 2 * p.macs, "counted": p.counted,
                "parts": {**dict.fromkeys(PART_KEYS, 0), **p.parts},
                "layer": p.layer, "alternatives": p.alternatives,
            }
            for p in result.points
        ],
        "stack": result.stack,
        "layers": [{"layers": list(f.layers), "self_attention": {str(k): c for k, c in f.attention.terms.items()},
                    "ffn": {str(k): c for k, c in f.ffn.terms.items()}} for f in result.forms],
        "crossovers": {name: (None if v is None else (v.numerator if v.denominator == 1 else float(v)))
                       for name, v in result.crossovers.items()},
        "crossover_formulas": result.explained,
        "linear_d_mult": result.linear_d_mult,
        "notes": list(result.notes),
    }


def scale_view(result: ScaleResult) -> View:
    x = result.variable
    tokens = result.spec.batch * (result.spec.seq_len if result.mode == "decode" else 1)
    rows = []
    for p in result.points:
        per_token = p.macs // (tokens if result.mode == "decode" else result.spec.batch * p.x)
        row = {x: p.x, "macs": p.macs, "flops": 2 * p.macs, "per_token": per_token, "counted": p.counted}
        for part, macs in p.parts.items():
            row[f"share_{part}"] = percent(macs, p.macs)
        layer_total = sum(p.layer.values())
        if layer_total:
            row["layer_self_attention"] = percent(p.layer.get(SELF_ATTENTION, 0), layer_total)
            row["layer_ffn"] = percent(p.layer.get(FFN, 0), layer_total)
        for name, macs in p.alternatives.items():
            row[f"alt_{name}"] = macs
        rows.append(row)
    parts = sorted({k for r in rows for k in r if k.startswith("share_")}, key=lambda k: ("linear", "attention", "conv", "recurrent", "backward").index(k[6:]) if k[6:] in ("linear", "attention", "conv", "recurrent", "backward") else 9)
    columns = [
        Column(x, x, text=lambda r: count(r[x])),
        Column("macs", "MACs", text=lambda r: si(r["macs"])),
        Column("flops", "FLOPs", text=lambda r: si(r["flops"])),
        Column("per_token", "MACs/token", text=lambda r: si(r["per_token"])),
        *(Column(k, k[6:], text=lambda r, k=k: r.get(k, "")) for k in parts),
    ]
    if any("layer_ffn" in r for r in rows):
        columns += [Column("layer_self_attention", "layer: self-attn"), Column("layer_ffn", "layer: FFN")]
    for name in sorted({k for r in rows for k in r if k.startswith("alt_")}):
        columns.append(Column(name, f"{name[4:]} MACs", text=lambda r, name=name: si(r.get(name))))
    if result.source != "analytic":
        columns.append(Column("counted", "how", "left", lambda r: "counted" if r["counted"] else "polynomial"))
    mode = {"forward": "forward", "train": "training step", "decode": "decode step"}[result.mode]
    title = model_title(result.model, "Scale") + f" · batch {result.spec.batch} · {mode} · {result.convention} attention"
    return View(title, columns, rows, scale_payload(result), scale_notes(result), key_columns=1)


def scale_notes(result: ScaleResult) -> list[str]:
    x, fit = result.variable, result.fit
    lines = [""]
    if result.total is not None:
        where = ", ".join(f"{v:,}" for v in fit.verified_at)
        lines.append(f"MACs({x}) = {formula(result)}")
        lines.append(f"        = {expanded(result.total, x)}")
        how = {"analytic": "closed forms", "torch-fit": "the torch counter on fake tensors"}[result.source]
        lines.append(f"Exact polynomial from {how}: fitted at {x} = {', '.join(f'{v:,}' for v in fit.fit_at)}, "
                     f"verified at {x} = {where}.")
    else:
        lines.append(f"No polynomial: {fit.reason}; every length was counted.")
    form = result.main_form
    if form is not None and result.stack:
        lines += ["", f"Crossovers of one {result.stack} layer ({len(form.layers)} of them):"]
        for name, label in CROSSOVER_LABELS.items():
            if name in result.explained:
                value = result.crossovers[name]
                shown = f"{x} > {_threshold(value)}   ({result.explained[name]})" if value is not None else result.explained[name]
                lines.append(f"  {label}: {shown}")
        if not any(result.crossovers.get(n) is not None for n in CROSSOVER_LABELS):
            lines.append("  none: the layer has no n² attention products (recurrent, convolutional or windowed)")
        if result.crossovers.get("linear_attention_same_d") is not None:
            m = result.linear_d_mult
            lines.append(f"  linear attention breaks even at {x} > {_threshold(result.crossovers['linear_attention_same_d'])} "
                         f"(d' = d), {x} > {_threshold(result.crossovers['linear_attention_4d'])} (d' = {m}·d)")
    if result.causal and result.mode != "decode":
        other = "causal-half" if result.convention == "full" else "full"
        lines.append(f"Conventions: totals count {result.convention} attention products; the '{other} MACs' column "
                     "gives the other (--causal-half switches).")
    lines += [f"Note: {note}" for note in result.notes]
    return lines


def compare_view(types: list[LayerType]) -> View:
    rows = []
    for t in types:
        rows.append({"layer": t.name, "complexity": t.complexity, "polynomial": _bivariate(t.polynomial),
                     "degree_n": t.degrees[0], "degree_d": t.degrees[1],
                     **{f"n{n}": macs for n, macs in t.points}})
    lengths = [n for n, _ in types[0].points] if types else []
    columns = [
        Column("layer", "layer type", "left"),
        Column("complexity", "Vaswani et al.", "left"),
        Column("polynomial", "exact MACs", "left", wrap=True),
        Column("degree_n", "deg n"),
        Column("degree_d", "deg d"),
        *(Column(f"n{n}", f"n={n:,}", text=lambda r, n=n: si(r[f"n{n}"])) for n in lengths),
    ]
    payload = {
        "schema_version": SCHEMA_VERSION,
        "models": [
            {"model": t.name, "width": t.width, "complexity": t.complexity,
             "polynomial": {"variables": ["n", "d"], "terms": {f"{i},{j}": c for (i, j), c in t.polynomial.terms.items()},
                            "source": "analytic", "verified_at": [list(p) for p in t.polynomial.verified_at]},
             "degrees": {"n": t.degrees[0], "d": t.degrees[1]},
             "points": [{"n": n, "macs": macs, "flops": 2 * macs} for n, macs in t.points]}
            for t in types
        ],
    }
    width = types[0].width if types else 0
    notes = ["", f"MACs of each toy net at width d = {width:,}, batch 1, exact in n and d (fitted on 3 x 3 points, verified at two more).",
             "Per-layer complexity after Vaswani et al. 2017, \"Attention Is All You Need\", table 1 (r: neighbourhood, k: kernel)."]
    return View(f"Layer types by length n and width d · d = {width:,}", columns, rows, payload, notes)


def _bivariate(poly) -> str:
    def monomial(i: int, j: int) -> str:
        return "·".join(p for p in ({0: "", 1: "n"}.get(i, f"n{_power(i)}"), {0: "", 1: "d"}.get(j, f"d{_power(j)}")) if p)

    terms = sorted(poly.terms.items(), key=lambda kv: (-kv[0][0], -kv[0][1]))
    return " + ".join("·".join(p for p in (str(c) if c != 1 else "", monomial(i, j)) if p) or str(c) for (i, j), c in terms)
