"""Exact polynomial fits: integer coefficients, verified at further points, refused otherwise."""

from __future__ import annotations

from fractions import Fraction

import pytest

from modelprof.profilers.fitting import fit_exact, solve


def bert_layer(n: int) -> int:
    # one BERT-base layer: 12·n·H² + 2·n²·H with H = 768
    return 12 * n * 768**2 + 2 * n**2 * 768


def test_a_quadratic_is_solved_exactly_and_verified():
    fit = fit_exact(bert_layer, variable="n", degree=2, fit_at=(1, 2, 3), verify_at=(128, 4096))
    assert fit.ok
    assert dict(fit.polynomial.terms) == {1: 12 * 768**2, 2: 2 * 768}  # 7,077,888·n + 1,536·n²
    assert fit.value(10_000) == bert_layer(10_000)
    assert set(fit.measured) == {1, 2, 3, 128, 4096}


def test_parts_get_one_polynomial_each():
    def parts(n):
        return {"linear": 12 * n * 768**2, "attention": 2 * n**2 * 768}

    fit = fit_exact(parts, variable="n", degree=2, fit_at=(1, 2, 3), verify_at=(7,))
    assert {name: dict(p.terms) for name, p in fit.parts.items()} == {
        "linear": {1: 7_077_888}, "attention": {2: 1_536}}
    assert fit.value(100) == parts(100)


def test_a_count_that_is_not_that_polynomial_is_refused():
    # a sliding window of 4: attention is n² up to the window and 4·n after it, so a quadratic fitted
    # at 1, 2, 3 predicts 64 at n = 8 where 32 was counted
    windowed = lambda n: n * min(n, 4)  # noqa: E731
    fit = fit_exact(windowed, variable="n", degree=2, fit_at=(1, 2, 3), verify_at=(8,))
    assert not fit.ok
    assert fit.reason == "n = 8: counted 32, the fit predicts 64 (total)"
    assert fit.value(8) == 32  # counted points stay available
    with pytest.raises(ValueError):
        fit.value(9)


def test_non_integer_coefficients_are_refused():
    fit = fit_exact(lambda n: n * (n + 1) // 2 + (n % 2), variable="n", degree=2, fit_at=(1, 2, 3), verify_at=(4,))
    assert not fit.ok and "integer coefficients" in fit.reason


def test_solve_is_rational():
    # n(n+1)/2 through (1, 1), (2, 3), (3, 6)
    assert solve({1: 1, 2: 3, 3: 6}, 2) == {0: 0, 1: Fraction(1, 2), 2: Fraction(1, 2)}


def test_the_hardware_table_reads_datasheet_rows():
    from modelprof.profilers.hardware import device_for_torch_name, devices, find_device

    h100 = find_device("h100")
    assert h100.name == "H100-SXM-80GB" and h100.memory_bytes == 80 * 2**30
    assert h100.peak("bf16") == 989_500_000_000_000 and h100.bandwidth_bytes_per_s == 3_350_000_000_000
    assert device_for_torch_name("NVIDIA H100 80GB HBM3") is h100
    assert device_for_torch_name("NVIDIA H100 80GB") is None  # matched exactly, never by resemblance
    assert find_device("T4").peak("bf16") is None  # Turing has no bf16: no figure rather than a guess
    assert all(device.source for device in devices())
    names = [n.lower() for device in devices() for n in device.names]
    assert len(names) == len(set(names))  # a name picks one device


def test_a_count_in_two_sizes_is_fitted_exactly():
    from modelprof.profilers.fitting import fit_bivariate

    # self-attention: 4·n·d² projections + 2·n²·d products
    poly = fit_bivariate(lambda n, d: 4 * n * d * d + 2 * n * n * d, variables=("n", "d"), degrees=(2, 2),
                         xs=(1, 2, 3), ys=(1, 2, 3), verify_at=((64, 256), (1000, 7)))
    assert dict(poly.terms) == {(1, 2): 4, (2, 1): 2}
    assert (poly.degree(0), poly.degree(1)) == (2, 2)  # n²·d and n·d²: O(n²d + nd²)
    # a window of 4 keys per query is r·n·d only once n passes it: the check at n = 64 refuses the fit
    refused = fit_bivariate(lambda n, d: 2 * n * min(n, 4) * d, variables=("n", "d"), degrees=(2, 2),
                            xs=(1, 2, 3), ys=(1, 2, 3), verify_at=((64, 8),))
    assert refused == "n = 64, d = 8: counted 4,096, the fit predicts 65,536"
