"""[DST] Tables 1-2 (docs/references.md), reproduced by the weight-memory model (:mod:`neurosim.hw.weight_memory`).

The paper compares, per weight element and training iteration, BWN keeping 32-bit float weights off chip
(forward C_R + C_S; backward C_R + C_W + C_S + float adder) with DST keeping (N+1)-bit states on chip (forward
~ 0; backward C_S + fixed-point adder). Here nothing is typed in: each row runs :func:`weight_read_cost`
(forward) and :func:`weight_update_cost` (backward = the weight update, as the paper's Table 2 counts it; the
dX pass of a real backward is one more read pass, left out like the paper does) on the paper's pair of
architectures, ``arch_configs/bwn_offchip.yaml`` and ``arch_configs/dst_onchip.yaml``, and reports per weight.

* Per weight: the model runs on ``n_weights`` = 2^20 weights and divides by it, so the per-layer DRAM word
  rounding (whole 32-bit words) vanishes, as for a large layer.
* DST writes back only the weights whose state changed: ``changed_fraction`` of them per iteration. The default
  1.0 is the worst case (every weight moves every iteration); pass a measured rate (a ``neurosim run`` report's
  ``weight_transitions / (weights x updates)``) for a trained network.
* The optimizer is left out as in the paper (plain SGD, ``optimizer_bits=0``); giving Adam's 64 bits puts its
  state in DRAM on both archs, and DST then has off-chip traffic too (the terms columns then disagree with the
  paper, which is the point of showing them).
* ``*_terms`` columns are derived from the counts (C_R: off-chip read, C_W: off-chip write, C_S: space switch,
  for DST the probabilistic projection, one random draw per weight; the adder the update unit uses); the
  ``paper_*`` columns are the paper's, so a reader can compare; ``terms_match_paper`` says whether they agree.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..hw.arch import Architecture, load_arch
from ..hw.weight_memory import (WeightBits, WeightCost, derives_on_read, is_offchip, weight_read_cost,
                                weight_update_cost)
from ..report.files import write_csv, write_json

N_WEIGHTS = 1 << 20
BWN_ARCH, DST_ARCH = "bwn_offchip", "dst_onchip"
PAPER = {  # scheme -> (memory, forward total, backward total), DST paper Tables 1-2
    "BWN": ("32bits", "C_R + C_S", "C_R + C_W + C_S + float adder"),
    "DST": ("(N+1)bits", "~0", "C_S + fixed-point adder"),
}
COLUMNS = ["scheme", "arch", "N", "memory_bits_per_weight", "where", "forward_offchip_read_bits",
           "forward_onchip_read_bits", "forward_space_switches", "backward_offchip_read_bits",
           "backward_offchip_write_bits", "backward_onchip_read_bits", "backward_onchip_write_bits",
           "backward_space_switches", "adder", "adder_energy_pj", "forward_energy_pj", "update_energy_pj",
           "total_energy_pj", "energy_ratio_vs_bwn", "offchip_bits", "offchip_bits_ratio_vs_bwn", "update_cycles_per_weight",
           "changed_fraction", "n_weights", "model_memory", "paper_memory", "model_forward_terms",
           "paper_forward", "model_backward_terms", "paper_backward", "terms_match_paper"]


def _terms(arch: Architecture, c: WeightCost) -> str:
    """The paper's cost terms present in a cost: C_R, C_W, C_S, float / fixed-point adder; '~0' if none."""
    unit = arch.update_unit().name
    acts = {a: n for (comp, a), n in c.actions.items() if comp == unit and n}
    out = []
    if c.offchip_read_bits:
        out.append("C_R")
    if c.offchip_write_bits:
        out.append("C_W")
    if "space_switch" in acts or "rng" in acts:
        out.append("C_S")
    if "float_add" in acts:
        out.append("float adder")
    if "state_add" in acts:
        out.append("fixed-point adder")
    return " + ".join(out) or "~0"


def _switches(arch: Architecture, c: WeightCost) -> int:
    """Space switches: BWN's binarizations, DST's probabilistic projections (one random draw each)."""
    unit = arch.update_unit().name
    return c.actions.get((unit, "space_switch"), 0) + c.actions.get((unit, "rng"), 0)


def _row(scheme: str, arch: Architecture, N: int | None, bits: WeightBits, n: int, changed: int) -> dict:
    fwd = weight_read_cost(arch, n, bits)
    upd = weight_update_cost(arch, n, bits, changed, changed)
    unit = arch.update_unit().name
    if derives_on_read(arch, bits):  # BWN off chip: only the float is kept, the binary code is derived
        weight_comps, mem = [arch.placement.hidden_weights], bits.hidden
    else:
        weight_comps = [arch.placement.weights] + ([arch.placement.hidden_weights] if bits.hidden else [])
        mem = bits.stored + bits.hidden
    places = {"off chip" if is_offchip(arch, c) else "on chip" for c in weight_comps}
    adder = "float" if (unit, "float_add") in upd.actions else "fixed-point"
    adder_pj = sum(upd.actions.get((unit, a), 0) * arch.energy(unit, a) for a in ("float_add", "state_add")
                   if (unit, a) in upd.actions)
    f_pj, u_pj = fwd.energy_pj(arch) / n, upd.energy_pj(arch) / n
    model_mem = f"{mem}bits"
    paper_mem, paper_f, paper_b = PAPER[scheme]
    if N is not None:
        paper_mem = paper_mem.replace("(N+1)", str(N + 1))
    f_terms, b_terms = _terms(arch, fwd), _terms(arch, upd)
    return {
        "scheme": scheme, "arch": arch.name, "N": N, "memory_bits_per_weight": mem,
        "where": " + ".join(sorted(places)),
        "forward_offchip_read_bits": fwd.offchip_read_bits / n, "forward_onchip_read_bits": fwd.onchip_read_bits / n,
        "forward_space_switches": _switches(arch, fwd) / n,
        "backward_offchip_read_bits": upd.offchip_read_bits / n,
        "backward_offchip_write_bits": upd.offchip_write_bits / n,
        "backward_onchip_read_bits": upd.onchip_read_bits / n, "backward_onchip_write_bits": upd.onchip_write_bits / n,
        "backward_space_switches": _switches(arch, upd) / n, "adder": adder, "adder_energy_pj": adder_pj / n,
        "forward_energy_pj": f_pj, "update_energy_pj": u_pj, "total_energy_pj": f_pj + u_pj,
        "offchip_bits": (fwd.offchip_read_bits + upd.offchip_read_bits + upd.offchip_write_bits) / n,
        "update_cycles_per_weight": upd.update_cycles / n, "changed_fraction": changed / n, "n_weights": n,
        "model_memory": model_mem, "paper_memory": paper_mem, "model_forward_terms": f_terms, "paper_forward": paper_f,
        "model_backward_terms": b_terms, "paper_backward": paper_b,
        "terms_match_paper": model_mem == paper_mem and f_terms == paper_f and b_terms == paper_b,
    }


def tables(N_values: Iterable[int] = range(0, 9), changed_fraction: float = 1.0, optimizer_bits: int = 0,
           transition_table: bool = True, n_weights: int = N_WEIGHTS) -> list[dict]:
    """One BWN-off-chip row, then one DST-on-chip row per N, all per weight element and iteration."""
    if isinstance(changed_fraction, bool) or not isinstance(changed_fraction, (int, float)) \
            or not 0.0 <= changed_fraction <= 1.0:
        raise ValueError(f"changed_fraction must be in [0, 1], got {changed_fraction!r}")
    if isinstance(n_weights, bool) or not isinstance(n_weights, int) or n_weights < 1:
        raise ValueError(f"n_weights must be an integer >= 1, got {n_weights!r}")
    Ns = list(N_values)
    for N in Ns:
        if isinstance(N, bool) or not isinstance(N, int) or not 0 <= N <= 31:
            raise ValueError(f"N must be an integer in 0..31 (states 2^N + 1 in N+1 bits), got {N!r}")
    changed = round(changed_fraction * n_weights)
    bwn_arch, dst_arch = load_arch(BWN_ARCH), load_arch(DST_ARCH)
    bwn = _row("BWN", bwn_arch, None, WeightBits(stored=1, hidden=32, optimizer=optimizer_bits, space_switch=True),
               n_weights, changed)  # changed does not matter: a float update rewrites every hidden weight
    rows = [bwn]
    for N in Ns:
        bits = WeightBits(stored=N + 1, optimizer=optimizer_bits, transition_table=transition_table)
        rows.append(_row("DST", dst_arch, N, bits, n_weights, changed))
    for r in rows:
        r["energy_ratio_vs_bwn"] = r["total_energy_pj"] / bwn["total_energy_pj"]
        r["offchip_bits_ratio_vs_bwn"] = r["offchip_bits"] / bwn["offchip_bits"] if bwn["offchip_bits"] else 0.0
    return rows


def reproduce(out: Path, N_values: Iterable[int] = range(0, 9), changed_fraction: float = 1.0,
              optimizer_bits: int = 0, transition_table: bool = True, n_weights: int = N_WEIGHTS) -> list[dict]:
    """Write ``out/dst_tables.csv`` and ``out/dst_tables.json`` (atomically) and return the rows."""
    out = Path(out)
    N_values = list(N_values)
    rows = tables(N_values, changed_fraction, optimizer_bits, transition_table, n_weights)
    out.mkdir(parents=True, exist_ok=True)
    params = {"N_values": N_values, "changed_fraction": changed_fraction, "optimizer_bits": optimizer_bits,
              "transition_table": transition_table, "n_weights": n_weights}
    write_csv(out / "dst_tables.csv", rows, COLUMNS)
    write_json(out / "dst_tables.json", {
        "table": "[DST] Tables 1-2 (Li et al., Neurocomputing 2018): per weight element and iteration, "
                 "BWN off chip vs DST on chip, "
                 "from the weight-memory model (neurosim.hw.weight_memory) on arch_configs/bwn_offchip.yaml and "
                 "arch_configs/dst_onchip.yaml",
        "parameters": params, "columns": COLUMNS, "rows": rows})
    return rows


def _g(v: float) -> str:
    return f"{v:.4g}"


def print_table(rows: list[dict]) -> str:
    """The rows as a fixed-width text table (one line per scheme and N), then the paper's terms beside ours."""
    head = ["scheme", "N", "mem bits", "where", "fwd offR", "bwd offR", "bwd offW", "C_S f/b", "adder",
            "fwd pJ", "upd pJ", "total pJ", "x BWN"]
    body = []
    for r in rows:
        body.append([r["scheme"], "-" if r["N"] is None else str(r["N"]), str(r["memory_bits_per_weight"]),
                     r["where"], _g(r["forward_offchip_read_bits"]), _g(r["backward_offchip_read_bits"]),
                     _g(r["backward_offchip_write_bits"]),
                     f"{_g(r['forward_space_switches'])}/{_g(r['backward_space_switches'])}", r["adder"],
                     _g(r["forward_energy_pj"]), _g(r["update_energy_pj"]), _g(r["total_energy_pj"]),
                     f"{r['energy_ratio_vs_bwn']:.5f}"])
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)] if body else [len(h) for h in head]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(b, widths)) for b in body]
    lines.append("")
    lines.append("per weight element and iteration; offR/offW: off-chip bits read/written; C_S: space switches "
                 "(BWN binarize, DST probabilistic projection)")
    seen = set()
    for r in rows:
        key = (r["scheme"], r["model_forward_terms"], r["model_backward_terms"])
        if key in seen:
            continue
        seen.add(key)
        ok = "agrees" if r["terms_match_paper"] else "DIFFERS"
        lines.append(f"{r['scheme']}: forward {r['model_forward_terms']} (paper {r['paper_forward']}); backward "
                     f"{r['model_backward_terms']} (paper {r['paper_backward']}): {ok}; changed fraction "
                     f"{r['changed_fraction']:g}")
    return "\n".join(lines)
