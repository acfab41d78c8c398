"""Numbers for people: SI prefixes chosen by magnitude (1234 pJ -> '1.23 nJ'), for the plots, pages and tables.

Each quantity is stored in the unit the summary and layers.csv use (energy in pJ, time in s, area in um2, power in
mW, traffic in bits); the helpers here convert to the base unit, pick the prefix that puts the value in [1, 1000)
and print three significant digits. Zero and missing values print as '0 pJ' and '–'.
"""
from __future__ import annotations

import math
from typing import Any

__all__ = ["PREFIXES", "prefix_for", "si", "energy", "power", "seconds", "area", "count", "bits", "percent",
           "hertz", "axis_scale", "is_number"]

PREFIXES: tuple[tuple[float, str], ...] = (
    (1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, ""),
    (1e3, "k"), (1e6, "M"), (1e9, "G"), (1e12, "T"), (1e15, "P"))
MISSING = "–"


def is_number(v: Any) -> bool:
    """A finite int or float (not a bool, not NaN): something a helper can format."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def prefix_for(value: float, lowest: float = 1e-15, highest: float = 1e15) -> tuple[float, str]:
    """The prefix (scale, symbol) that puts ``value`` (in the base unit) in [1, 1000), clamped to [lowest, highest]."""
    allowed = [p for p in PREFIXES if lowest <= p[0] <= highest]
    v = abs(value)
    if v == 0 or not math.isfinite(v):
        return allowed[0]
    chosen = allowed[0]
    for scale, symbol in allowed:
        if v >= scale * (1 - 5e-13):
            chosen = (scale, symbol)
    return chosen


def _digits(x: float, digits: int) -> str:
    """``x`` with ``digits`` significant digits, never in exponent form (x is in [1, 1000) or below the floor)."""
    if x == 0:
        return "0"
    rounded = float(f"{x:.{digits}g}")  # 0.9997 -> 1.0: the digits are counted from the rounded value
    decimals = max(digits - 1 - int(math.floor(math.log10(abs(rounded)))), 0)
    return f"{x:.{decimals}f}"


def si(value: Any, unit: str, digits: int = 3, zero_prefix: str = "", lowest: float = 1e-15,
       highest: float = 1e15) -> str:
    """``value`` (in the base unit ``unit``) with the prefix that suits its magnitude: si(1.234e-9, 'J') = '1.23 nJ'."""
    if not is_number(value):
        return MISSING
    if value == 0:
        return f"0 {zero_prefix}{unit}"
    scale, symbol = prefix_for(value, lowest, highest)
    text = _digits(value / scale, digits)
    bigger = [p for p in PREFIXES if scale < p[0] <= highest]
    if abs(float(text)) >= 1000 and bigger:  # 999.7 rounds up to 1000: the next prefix
        scale, symbol = bigger[0]
        text = _digits(value / scale, digits)
    return f"{text} {symbol}{unit}"


def energy(pj: Any, digits: int = 3) -> str:
    """An energy given in pJ: '0 pJ', '812 fJ', '1.23 nJ', '4.56 µJ', '7.89 mJ', '1.2 J'."""
    return si(pj * 1e-12 if is_number(pj) else pj, "J", digits, zero_prefix="p", highest=1.0)


def power(mw: Any, digits: int = 3) -> str:
    """A power given in mW: '12.5 µW', '3.4 mW', '1.01 W'."""
    return si(mw * 1e-3 if is_number(mw) else mw, "W", digits, zero_prefix="m", highest=1e3)


def seconds(s: Any, digits: int = 3) -> str:
    """A time given in s: '262 ns', '5.81 ms', '12.0 s'."""
    return si(s, "s", digits, zero_prefix="", highest=1.0)


def hertz(hz: Any, digits: int = 3) -> str:
    """A frequency given in Hz: '1.00 GHz', '200 MHz'."""
    return si(hz, "Hz", digits, lowest=1.0)


def area(um2: Any, digits: int = 3) -> str:
    """An area given in um2: µm² below 0.01 mm², mm² above (prefixes of a squared unit do not scale by 1000)."""
    if not is_number(um2):
        return MISSING
    if um2 == 0:
        return "0 mm²"
    if abs(um2) < 1e4:
        return f"{_digits(um2, digits)} µm²"
    return f"{_digits(um2 / 1e6, digits)} mm²"


def count(n: Any, unit: str = "", digits: int = 3) -> str:
    """A count with k/M/G/T: '812', '5.81 M cycles' (whole numbers below 1000 print whole)."""
    if not is_number(n):
        return MISSING
    if abs(n) < 1000:
        text = str(int(n)) if float(n).is_integer() else _digits(n, digits)
        return f"{text} {unit}".strip()
    return si(n, f" {unit}" if unit and unit != "B" else unit, digits, lowest=1.0).strip()


def bits(b: Any, digits: int = 3) -> str:
    """Traffic given in bits, printed in bytes: '256 B', '1.73 kB', '2.10 MB'."""
    if not is_number(b):
        return MISSING
    return count(b / 8, "B", digits) if b else "0 B"


def percent(fraction: Any, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.6022 -> '60.2 %'."""
    return f"{100 * fraction:.{decimals}f} %" if is_number(fraction) else MISSING


def axis_scale(values: Any, unit: str, base_factor: float, highest: float = 1e15) -> tuple[float, str]:
    """Scale and label of a linear axis of values given in ``base_factor`` x ``unit`` (energy in pJ: 1e-12, 'J'):
    the factor to multiply the values by and the prefixed unit, chosen by the largest magnitude."""
    finite = [abs(v) for v in values if is_number(v)]
    top = max(finite, default=0.0) * base_factor
    if top == 0:
        return 1.0, f"{dict((s, p) for s, p in PREFIXES).get(base_factor, '')}{unit}"
    scale, symbol = prefix_for(top, highest=highest)
    return base_factor / scale, f"{symbol}{unit}"
