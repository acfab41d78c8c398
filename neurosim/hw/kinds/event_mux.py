"""TWN's gated multiplexer lane: a ternary weight selects +x, -x or nothing; fires only on a nonzero weight."""
from . import ComputeKind

KIND = ComputeKind(
    name="event_mux", order=4,
    description="gated sign multiplexer + add (ternary weights, full-precision inputs): a lane fires only on a "
                "nonzero weight (resting 1/3 for uniform ternary weights)",
    fires="selector", per_pair=("gate_check",), per_event=("mux", "add"), rest_required=True,
    operand_bits=(2, 32),
    units={"gate_check": "operand pair (zero test of the weight code)", "mux": "firing lane (sign select)",
           "add": "firing lane (one accumulate)", "rest": "resting lane-slot"})
