"""Full-precision multiply-accumulate lane: every pair is one multiply and one add."""
from . import ComputeKind

KIND = ComputeKind(
    name="mac", order=2,
    description="multiply-accumulate on full-precision operands: every pair fires",
    fires="every", per_event=("mult", "add"), operand_bits=(32, 32),
    units={"mult": "operand pair (one multiply)", "add": "operand pair (one accumulate)"})
