"""Parsing counts and sizes written by people: ``"110M"``, ``"1.2B"``,
``"22.4G"``, ``"3T"``, ``3_200_000``, ``"16GiB"``.

Decimal suffixes are powers of 1000 (k, M, G or B, T, P); binary ones are
powers of 1024 (Ki, Mi, Gi, Ti). ``B`` alone is billions ("1.2B" parameters);
``GB`` is gigabytes. A trailing unit word (``B`` for bytes,
``MACs``, ``FLOPs``, ``params``) is ignored: the key a number is given for
says what it counts. Results are integers, rounded to the nearest unit.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

DECIMAL = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "B": 10**9, "T": 10**12, "P": 10**15}
BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_QUANTITY = re.compile(
    r"^\s*(?P<number>[0-9][0-9_,]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*"
    r"(?P<prefix>Ki|Mi|Gi|Ti|Pi|[kKMGTPB]?)\s*(?P<unit>B|bytes?|MACs?|FLOPs?|params?)?\s*$"
)


def parse_quantity(value: object) -> int:
    """An integer from an int or a string with an optional SI/binary suffix.

    Raises ValueError with a message fit for one line.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"expected a non-negative number, got {value}")
        return value
    if isinstance(value, float):
        if value < 0 or value != value:
            raise ValueError(f"expected a non-negative number, got {value}")
        return round(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a number or a string like '110M', got {type(value).__name__}")
    match = _QUANTITY.match(value)
    if not match:
        raise ValueError(f"cannot read {value!r} as a number (use e.g. 3200000, '110M', '1.2B', '22.4G', '3T', '16GiB')")
    prefix = match["prefix"]
    try:
        number = Decimal(match["number"].replace("_", "").replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"cannot read {value!r} as a number") from None
    scale = BINARY.get(prefix) or DECIMAL[prefix]
    return int((number * scale).to_integral_value())


def binary_size(n_bytes: int) -> str:
    """Bytes in binary units for people (``390.12 MiB``, ``0 B``)."""
    value = float(n_bytes)
    for scale, prefix in ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if value >= scale:
            return f"{value / scale:.2f} {prefix}"
    return f"{int(value)} B"
