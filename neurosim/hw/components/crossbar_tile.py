"""Crossbar tiles: DST weight states on memristor devices (a differential pair or one device + a reference column).

A crossbar of ``rows`` x ``cols`` weights per tile holds a weight space Z_N (``N``, range ``L``); a layer's
(in, out) matrix is cut into ceil(in / rows) x ceil(out / cols) tiles. A tile names the components around it:
its input ``driver`` (class input_driver), its ``readout`` (class adc or comparator) and its ``writer`` (class
write_driver). ``role: copy`` declares a copy crossbar ([TrainingItself]: W^T for the backward pass, written with
every update): it takes the device, weight space and actions of the tile it copies (``copy_of``) and may have its
own readout full scale and geometry. The ``device`` block gives the device physics (:mod:`neurosim.devices`).
Actions: ``read`` = one input plane through one tile (drivers + sample/hold; latency may be ``device``, the
read pulse); ``cell_read`` is priced by the device physics (V_read^2 x t_read per siemens of driven cells).

Weight slicing (``cell_bits``, normal tiles only): each device holds ``cell_bits`` bits, so a device level of
``b`` bits (a state's level on its device: 0..2^(N-1) differential, 0..2^N reference) is spread over
``ceil(b / cell_bits)`` columns (DNN+NeuroSim's numColPerSynapse = ceil(synapseBit / cellBit)), recombined by the
shift-adder; ``cols`` then counts physical columns. Without it one device (pair) holds the whole level, as
before. Optional periphery the datapath charges data movement to: ``input_buffer`` and ``output_buffer`` (class
periphery_buffer) and ``interconnect`` (class interconnect); a tile without them moves no priced bits.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ...devices import MAX_N
from ._fields import Count, Positive
from .base import MAPPED, ActionSpec, AttributeModel, ComponentClass

__all__ = ["CrossbarTileAttributes", "CrossbarTile", "level_bits", "columns_per_weight"]


def level_bits(N: int, mapping: str) -> int:
    """Bits of one device level of Z_N: levels 0..2^(N-1) (differential; 0..1 for N = 0) or 0..2^N (reference)."""
    top = (2 ** (N - 1) if N >= 1 else 1) if mapping == "differential" else 2 ** N
    return max(1, int(top).bit_length())


def columns_per_weight(N: int, mapping: str, cell_bits: int | None) -> int:
    """Physical columns (devices or device pairs) one weight spans: ceil(level bits / cell_bits), 1 unsliced."""
    if cell_bits is None:
        return 1
    return -(-level_bits(N, mapping) // cell_bits)


class CrossbarTileAttributes(AttributeModel):
    """Weight space, geometry, readout calibration, pipelining granularity and the periphery it uses."""

    role: Literal["normal", "copy"] = "normal"
    copy_of: str | None = None
    N: Annotated[int, Field(ge=0, le=MAX_N)] | None = None
    mapping: Literal["differential", "reference"] | None = None  # normal tiles: differential unless given
    L: Positive | None = None  # normal tiles: 1.0 unless given
    rows: Count = 128
    cols: Count = 128
    full_scale: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 1.0
    samples_per_tile: Count = 10
    cell_bits: Annotated[int, Field(ge=1, le=16)] | None = None  # weight slicing: bits per device (None: unsliced)
    driver: str
    readout: str
    writer: str
    input_buffer: str | None = None
    output_buffer: str | None = None
    interconnect: str | None = None


class CrossbarTile(ComponentClass):
    name = "crossbar_tile"
    description = "memristor crossbar tiles holding DST weight states (Ohm + Kirchhoff reads, pulse-train writes)"
    Attributes = CrossbarTileAttributes
    takes_device = True
    order = 10

    def actions(self, attrs):
        return {"read": ActionSpec("tile activation (one input plane through one tile)", device=("latency",)),
                "cell_read": ActionSpec("siemens of driven cells per plane (V_read^2 x G x t_read)", device_energy=True,
                                        from_device=True)}

    def check(self, attrs, fail) -> None:
        if attrs.role == "copy":
            if attrs.copy_of is None:
                fail("copy_of", "missing: a copy crossbar names the crossbar_tile it copies")
            for key in ("N", "mapping", "L", "cell_bits"):
                if getattr(attrs, key) is not None:
                    fail(key, f"a copy crossbar takes {key} from the tile it copies ({attrs.copy_of!r}); remove it")
            return
        if attrs.copy_of is not None:
            fail("copy_of", "only a crossbar with role: copy names the tile it copies")
        if attrs.N is None:
            fail("N", f"missing: the DST weight space (an integer in 0..{MAX_N})")

    def references(self, attrs):
        refs = {"driver": ("input_driver",), "readout": ("adc", "comparator"), "writer": ("write_driver",)}
        if attrs.copy_of is not None:
            refs["copy_of"] = ("crossbar_tile",)
        for key in ("input_buffer", "output_buffer"):
            if getattr(attrs, key) is not None:
                refs[key] = ("periphery_buffer",)
        if attrs.interconnect is not None:
            refs["interconnect"] = ("interconnect",)
        return refs

    def footprint_units(self, attrs):
        return {"tile": MAPPED, "cell": MAPPED}
