"""A ternary multiply-accumulate lane with clock gating: the worked example of docs/adding_a_compute_kind.md.

Ternary weights and activations on a multiplier + accumulator instead of an XNOR + popcount: a lane whose pair
has a zero operand is clock-gated (rests), so it fires, like GXNOR's gated XNOR, only on pairs of nonzero operands.
"""
from . import ComputeKind

KIND = ComputeKind(
    name="gated_mac", order=5,
    description="clock-gated ternary MAC: a multiply and an accumulate per pair of nonzero ternary operands",
    fires="both", per_pair=("gate_check",), per_event=("mult", "add"), rest_required=True, operand_bits=(2, 2),
    units={"gate_check": "operand pair (zero test of both codes)", "mult": "firing lane (one ternary multiply)",
           "add": "firing lane (one accumulate)", "rest": "resting (clock-gated) lane-slot"})
