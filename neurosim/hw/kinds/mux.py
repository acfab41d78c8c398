"""BWN's multiplexer lane: a binary weight selects +x or -x, then an add; every pair fires."""
from . import ComputeKind

KIND = ComputeKind(
    name="mux", order=3,
    description="sign multiplexer + add (binary weights, full-precision inputs): every pair fires",
    fires="every", per_event=("mux", "add"), operand_bits=(1, 32),
    units={"mux": "operand pair (sign select)", "add": "operand pair (one accumulate)"})
