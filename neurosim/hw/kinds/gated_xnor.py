"""GXNOR's gated XNOR lane ([GXNOR]): ternary x ternary, wakes only when both operands are nonzero."""
from . import ComputeKind

KIND = ComputeKind(
    name="gated_xnor", order=0,
    description="gated XNOR + bitcount: a lane fires only on a pair of nonzero ternary operands (resting 5/9 for "
                "uniform operands)",
    fires="both", per_pair=("gate_check",), per_event=("xnor",), per_busy_lane=("bitcount_add",),
    rest_required=True, operand_bits=(2, 2),
    units={"gate_check": "operand pair (zero test of both codes)", "xnor": "firing lane (one XNOR)",
           "bitcount_add": "lane of a busy output cycle (one input bit of the clock-enabled popcount tree)", "rest": "resting lane-slot"})
