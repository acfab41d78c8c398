"""Crossbar tiles: DST weight states on memristor devices (a differential pair or one device + a reference column).

A crossbar of ``rows`` x ``cols`` weights per tile holds a weight space Z_N (``N``, range ``L``); a layer's
(in, out) matrix is cut into ceil(in / rows) x ceil(out / cols) tiles. A tile names the components around it:
its input ``driver`` (class input_driver), its ``readout`` (class adc or comparator) and its ``writer`` (class
write_driver). ``role: copy`` declares a copy crossbar (seed 004: W^T for the backward pass, written with
every update): it takes the device, weight space and actions of the tile it copies (``copy_of``) and may have its
own readout full scale and geometry. The ``device`` block gives the device physics (:mod:`neurosim.devices`).
Actions: ``read`` = one input plane through one tile (drivers + sample/hold; latency may be ``device``, the
read pulse); ``cell_read`` is priced by the device physics (V_read^2 x t_read per siemens of driven cells).
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ...devices import MAX_N
from ._fields import Count, Positive
from .base import MAPPED, ActionSpec, AttributeModel, ComponentClass




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
    driver: str
    readout: str
    writer: str


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
            for key in ("N", "mapping", "L"):
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
        return refs

    def footprint_units(self, attrs):
        return {"tile": MAPPED, "cell": MAPPED}
