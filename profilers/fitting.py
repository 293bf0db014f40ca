"""Exact polynomial fits of integer counts.

A count that is a polynomial in one size (MACs in the sequence length n,
activation bytes in the batch, MACs in the number of layers L) is measured at
``degree + 1`` points, solved for its coefficients exactly (rational
arithmetic, no floating point) and then checked at further points. A fit is
accepted only when every coefficient is an integer and every check agrees;
otherwise the caller counts each point it needs instead. A count may be a
mapping of parts (``{"linear": ..., "attention": ...}``): each part gets its
own polynomial and the fit holds only if all of them do.

Pure Python: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Mapping, Sequence

Value = int | Mapping[str, int]


@dataclass(frozen=True)
class Polynomial:
    """``sum(terms[k] * x**k)`` with integer coefficients; ``terms`` maps degree -> coefficient (zeros left out)."""

    terms: Mapping[int, int]

    def __call__(self, x: int) -> int:
        return sum(c * x**k for k, c in self.terms.items())

    @property
    def degree(self) -> int:
        return max(self.terms, default=0)

    def coefficient(self, degree: int) -> int:
        return self.terms.get(degree, 0)


@dataclass(frozen=True)
class Fit:
    """The outcome of :func:`fit_exact`.

    ``parts`` holds one polynomial per part (``""`` for a plain count) when
    the fit held; ``measured`` every value that was counted, fit points and
    checks alike; ``reason`` why the fit was refused.
    """

    variable: str
    fit_at: tuple[int, ...]
    verified_at: tuple[int, ...]
    measured: dict[int, Value] = field(default_factory=dict)
    parts: dict[str, Polynomial] | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.parts is not None

    @property
    def polynomial(self) -> Polynomial:
        """The polynomial of the whole count (the sum of the parts)."""
        if self.parts is None:
            raise ValueError(f"no polynomial: {self.reason}")
        total: dict[int, int] = {}
        for poly in self.parts.values():
            for k, c in poly.terms.items():
                total[k] = total.get(k, 0) + c
        return Polynomial({k: c for k, c in sorted(total.items()) if c})

    def value(self, x: int) -> Value:
        """The count at ``x``: measured when it was, else from the polynomial."""
        if x in self.measured:
            return self.measured[x]
        if self.parts is None:
            raise ValueError(f"{self.variable} = {x} was not counted and no polynomial holds: {self.reason}")
        if set(self.parts) == {""}:
            return self.parts[""](x)
        return {name: poly(x) for name, poly in self.parts.items()}


def solve(points: Mapping[int, int | Fraction], degree: int) -> dict[int, Fraction]:
    """The coefficients of the polynomial of ``degree`` through ``points``
    (exactly ``degree + 1`` distinct x), by Gaussian elimination over the
    rationals."""
    xs = sorted(points)
    if len(xs) != degree + 1:
        raise ValueError(f"a polynomial of degree {degree} needs {degree + 1} points, got {len(xs)}")
    rows = [[Fraction(x) ** k for k in range(degree + 1)] + [Fraction(points[x])] for x in xs]  # values may be Fractions
    size = degree + 1
    for col in range(size):
        pivot = next(r for r in range(col, size) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(size):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col])]
    return {k: rows[k][size] / rows[k][k] for k in range(size)}


def fit_exact(
    measure: Callable[[int], Value],
    *,
    variable: str,
    degree: int,
    fit_at: Sequence[int],
    verify_at: Sequence[int],
) -> Fit:
    """Count at ``fit_at`` (``degree + 1`` points), solve, and check at
    ``verify_at``: the fit holds when every coefficient of every part is an
    integer and every check equals the polynomial's value."""
    fit_at, verify_at = tuple(fit_at), tuple(verify_at)
    if not verify_at:
        raise ValueError("an exact fit needs at least one point to verify it at")
    measured = {x: measure(x) for x in fit_at}
    parts = _as_parts(measured)
    polynomials: dict[str, Polynomial] = {}
    reason = ""
    for name, points in parts.items():
        coefficients = solve(points, degree)
        if any(c.denominator != 1 for c in coefficients.values()):
            reason = f"{name or 'the count'} is not a polynomial of degree {degree} in {variable} with integer coefficients"
            break
        polynomials[name] = Polynomial({k: int(c) for k, c in coefficients.items() if c})
    for x in verify_at:
        measured[x] = measure(x)
        counted = {name: points[x] for name, points in _as_parts({x: measured[x]}).items()}
        for name in sorted(set(counted) | set(polynomials)):
            expected = polynomials.get(name, Polynomial({}))(x)
            if not reason and counted.get(name, 0) != expected:
                reason = f"{variable} = {x}: counted {counted.get(name, 0):,}, the fit predicts {expected:,} ({name or 'total'})"
    return Fit(variable, fit_at, verify_at, measured, None if reason else polynomials, reason)


def _as_parts(measured: Mapping[int, Value]) -> dict[str, dict[int, int]]:
    """{x: value} -> {part: {x: int}} (a plain count is the part "")."""
    parts: dict[str, dict[int, int]] = {}
    for x, value in measured.items():
        items = value.items() if isinstance(value, Mapping) else (("", value),)
        for name, count in items:
            parts.setdefault(name, {})[x] = int(count)
    for points in parts.values():  # a part missing at some x is zero there
        for x in measured:
            points.setdefault(x, 0)
    return parts


@dataclass(frozen=True)
class Bivariate:
    """An exact polynomial in two sizes: ``terms[(i, j)]`` is the coefficient of x**i * y**j."""

    variables: tuple[str, str]
    terms: Mapping[tuple[int, int], int]
    verified_at: tuple[tuple[int, int], ...]

    def __call__(self, x: int, y: int) -> int:
        return sum(c * x**i * y**j for (i, j), c in self.terms.items())

    def degree(self, variable: int) -> int:
        """The degree in the first (0) or second (1) variable."""
        return max((power[variable] for power in self.terms), default=0)


def fit_bivariate(
    measure: Callable[[int, int], int],
    *,
    variables: tuple[str, str],
    degrees: tuple[int, int],
    xs: Sequence[int],
    ys: Sequence[int],
    verify_at: Sequence[tuple[int, int]],
) -> Bivariate | str:
    """Exact coefficients of a count in two sizes: fitted in x at each of
    ``degrees[1] + 1`` values of y, each coefficient then fitted in y, and the
    whole checked at ``verify_at``. Returns the polynomial, or why none holds."""
    if len(xs) != degrees[0] + 1 or len(ys) != degrees[1] + 1:
        raise ValueError("one point per coefficient in each variable")
    by_y = {y: solve({x: measure(x, y) for x in xs}, degrees[0]) for y in ys}
    terms: dict[tuple[int, int], int] = {}
    for i in range(degrees[0] + 1):
        for j, c in solve({y: by_y[y][i] for y in ys}, degrees[1]).items():
            if c.denominator != 1:
                return f"not a polynomial with integer coefficients of degree {degrees} in {variables}"
            if c:
                terms[(i, j)] = int(c)
    poly = Bivariate(variables, terms, tuple(verify_at))
    for x, y in verify_at:
        counted = measure(x, y)
        if counted != poly(x, y):
            return f"{variables[0]} = {x}, {variables[1]} = {y}: counted {counted:,}, the fit predicts {poly(x, y):,}"
    return poly
