"""DRAM actions are timed from the component's attributes (bandwidth, latency_ns), never from an action latency:
a latency in the file would be silently ignored, so it is an error naming the key (issue 11 item 5)."""
from __future__ import annotations

from pathlib import Path

import pytest

from neurosim.hw.arch import ArchError, load_arch

ARCH = Path(__file__).resolve().parents[1] / "arch_configs" / "gxnor.yaml"


def _with(tmp_path: Path, old: str, new: str) -> Path:
    text = ARCH.read_text()
    assert old in text
    p = tmp_path / "arch.yaml"
    p.write_text(text.replace(old, new, 1))
    return p


@pytest.mark.parametrize("latency", ["latency_cycles: 8", "latency_ns: 5"])
def test_dram_action_latency_is_refused(tmp_path: Path, latency: str) -> None:
    p = _with(tmp_path, "read_bit:  {energy_pj: 20.0, latency_cycles: 0,", f"read_bit:  {{energy_pj: 20.0, {latency},")
    with pytest.raises(ArchError) as e:
        load_arch(p)
    msg = str(e.value)
    assert str(p) in msg and "actions.read_bit.latency_" in msg and "bandwidth_gbps" in msg


def test_dram_timing_follows_its_attributes(tmp_path: Path) -> None:
    """The DRAM latency the engine uses is latency_ns x clock (50 ns at 1 GHz = 50 cycles); doubling it doubles it."""
    a = load_arch(ARCH)
    b = load_arch(_with(tmp_path, "latency_ns: 50 ", "latency_ns: 100 "))
    assert a.dram_latency_cycles() == 50
    assert b.dram_latency_cycles() == 100
    assert a.action("dram", "read_bit").latency_cycles == 0
