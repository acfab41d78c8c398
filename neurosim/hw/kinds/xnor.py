"""BNN's XNOR lane: binary x binary, every pair fires, one bitcount per busy cycle."""
from . import ComputeKind

KIND = ComputeKind(
    name="xnor", order=1,
    description="XNOR + bitcount on binary operands: every pair fires",
    fires="every", per_event=("xnor",), per_busy_lane=("bitcount_add",), operand_bits=(1, 1),
    units={"xnor": "operand pair (one XNOR)", "bitcount_add": "lane of a busy output cycle (one input bit of the popcount tree)"})
