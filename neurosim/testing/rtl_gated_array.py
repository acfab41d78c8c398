"""A cycle-accurate RTL design of the gated-XNOR compute array and its controller (Amaranth HDL), with a
testbench driver that runs it in Amaranth's simulator (tests only; needs the test-only dependency ``amaranth``).

It is an independent check of the cost kernels (:mod:`neurosim.hw.costs`): it imports nothing from them nor
from :mod:`neurosim.testing.reference`. The design computes the products themselves (the layer outputs); the
testbench counts what the design's enable signals do, cycle by cycle. Nothing here evaluates a cost formula.

The design (:class:`GatedXnorUnit`), for ``lanes`` P, ``arrays`` A and ``policy`` in {gating, skipping}:

- **Operand buffer.** Two memories of ternary codes (2 bits a code: bit 0 = nonzero flag, bit 1 = sign, 1 is
  negative; a zero's sign bit is ignored): ``act_mem`` holds the R data vectors (row r = pairs
  a[r, 0..M-1], pair m at bits 2m..2m+1), ``wt_mem`` the N selector vectors (column n of b). Each array has one
  synchronous read port on each. ``out_mem`` takes the signed outputs, output o = r*N + n at address o; each
  array has a write port.
- **Per array** (array a works on outputs o = a, a+A, a+2A, ... in order), a pipeline of single-entry stages
  with valid/ready hand-off, each able to pass one output per cycle:

  ``F`` the controller FSM (IDLE -> ISSUE -> FLUSH -> IDLE): it keeps the address (r, n) of its next output
  and steps it by A with a chain of A conditional subtractions of N (no divider); it issues the two reads.
  ``Q`` the read ports' data registers (they hold their word while the port is not enabled).
  ``C`` the operand registers of the next output. Gating: a copy of the two words; its pair count is M.
  Skipping: the compaction stage. Each of the ``max_pairs`` pair positions has a zero-test gate
  (pair m < M with both codes nonzero: *keep*), a prefix counter (a Kogge-Stone adder) gives every pair the
  number d of dropped pairs before it, and a log-shifter network (stage k moves an element down by 2^k when
  bit k of its d is set; collision free and order preserving, LSB stage first) packs the kept pairs to
  positions 0..events-1 in one cycle. Its pair count is the number of kept pairs. The lanes then need no
  gate of their own.
  ``S`` the stream stage: two shift registers and a remaining-pair counter. Each cycle (a *beat*) it presents
  its low P codes to the lanes, lane l holding a pair while l < remaining, and shifts by P codes; the beat with
  remaining <= P is the output's last. An output with no pair (skipping, no event) still takes its one beat, with
  every lane resting. S loads the next output from C in the same clock edge as its last beat, so with C full
  the beats of consecutive outputs follow without a bubble.
  ``L`` the P lanes: gating lane l fires when it holds a pair with both codes nonzero (the gate); skipping lane
  l fires when it holds a pair (all compacted pairs fire). The fire signal is the clock enable of the lane's
  XNOR register (sign_a XNOR sign_b); a fired-flag register beside it. Lane value: fired ? (xnor ? +1 : -1) : 0.
  ``T`` the popcount tree: an adder tree over the P lane values with a register after every adder level
  (ceil(log2 P) levels); each level's registers are clock-enabled only for a beat with at least one firing lane
  (the tree enable, carried down the pipe with the beat's tags: valid, first, last, output index).
  ``ACC`` the accumulator: acc <= (first ? 0 : acc) + (tree enabled ? tree sum : 0); on an output's last beat
  the sum is written to ``out_mem`` (the output write).

- **Top controller FSM** (IDLE -> RUN -> DONE): ``start`` starts every array's FSM at once; ``done`` is high for
  one cycle when all arrays are idle and their pipes drained.

Timing (see :func:`pipeline_timing`): the start cycle, the issue cycle, the read cycle and the C-load cycle
are the *fill* (``FILL`` = 4 cycles, the same for every array with an output); then an array's beats run
back to back; after the last beat the lanes' register, the ``ceil(log2 P)`` tree levels and the accumulator's
write take ``DRAIN`` = 1 + ceil(log2 P) cycles. An array's *busy cycles* are its beats (the cycles in which its
lanes hold an output): that is what the cost model calls the array's cycles. The testbench measures the beats
cycle by cycle and also checks that they are contiguous, start at cycle ``FILL`` and that the run's last output
write is in cycle ``FILL + max busy + DRAIN - 1`` (cycle 0 = the start cycle), so the wall time of a run is
``FILL + compute cycles + DRAIN``.

The testbench (:class:`RtlArraySim`) runs many products on one simulation of one design (P, A, policy, buffer
sizes), one after another: it writes the codes straight into the memories, pulses ``start``, samples the
probes at every clock edge until ``done`` and reads ``out_mem``. Its counters, per product: busy cycles per
array (beats), ``gate_check`` (pairs presented to a zero-test gate: gating the lanes' gates, skipping the
compactor's), ``xnor`` (XNOR register enables), ``bitcount_add`` (tree enables), ``rest`` (lane-slots of a
beat whose lane did not fire), and for skipping ``index`` (kept pairs the compactor gave a destination index)
and ``compact`` (pairs presented to the compactor). :func:`lower_product` lays a dense or conv layer product
out as the (a, b) matrices of a generic product (explicit im2col) in the output and pair orders of the cost
model (``docs/model.md`` 4.1).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from amaranth.hdl import Cat, Const, Elaboratable, Module, Mux, Signal, signed, unsigned
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator

__all__ = ["Compactor", "ComputeArray", "GatedXnorUnit", "Lane", "PopcountTree", "RtlArraySim", "RtlResult",
           "encode_codes", "lower_product", "pipeline_timing", "tree_levels"]

POLICIES = ("gating", "skipping")
FILL = 4  # start, issue, read, C-load: cycles before an array's first beat


def tree_levels(lanes: int) -> int:
    """Adder levels (each followed by a register) of the P-lane popcount tree: ceil(log2 P)."""
    return (int(lanes) - 1).bit_length()


def pipeline_timing(lanes: int) -> tuple[int, int]:
    """(FILL, DRAIN) of the design: cycles before an array's first beat (counted from the start cycle) and
    cycles after its last beat up to and including the output write of that beat."""
    return FILL, 1 + tree_levels(lanes)


def _bits(n: int) -> int:
    """Bits of an unsigned counter holding 0..n."""
    return max(1, int(n).bit_length())


# --------------------------------------------------------------------------------------------------------------
# the design


class _ZeroGates(Elaboratable):
    """The compactor's zero-test gates: pair i is kept when i < M and both its codes are nonzero."""

    def __init__(self, n_pos: int, qa, qb, pairs):
        self.n_pos, self.qa, self.qb, self.pairs = n_pos, qa, qb, pairs
        self.present = Signal(n_pos)  # pair i is one of the output's M pairs
        self.keep = Signal(n_pos)
        self.codes = [Signal(4, name=f"code{i}") for i in range(n_pos)]  # (a code, b code) of pair i

    def elaborate(self, platform):
        m = Module()
        for i in range(self.n_pos):
            m.d.comb += [self.present[i].eq(self.pairs > i),
                         self.keep[i].eq((self.pairs > i) & self.qa[2 * i] & self.qb[2 * i]),
                         self.codes[i].eq(Cat(self.qa[2 * i:2 * i + 2], self.qb[2 * i:2 * i + 2]))]
        return m


class _PrefixLevel(Elaboratable):
    """Level j of a Kogge-Stone prefix adder: ``out[i] = inp[i] + inp[i - 2^j]`` (``inp[i]`` where i < 2^j)."""

    def __init__(self, j: int, inp: list, width: int):
        self.j, self.inp = j, inp
        self.out = [Signal(width, name=f"p{j}_{i}") for i in range(len(inp))]

    def elaborate(self, platform):
        m = Module()
        step = 1 << self.j
        for i, o in enumerate(self.out):
            m.d.comb += o.eq(self.inp[i] + self.inp[i - step] if i >= step else self.inp[i])
        return m


class _PrefixCount(Elaboratable):
    """Prefix counter of the dropped pairs (a Kogge-Stone adder over the gates' outputs, ceil(log2 n) levels):
    ``drop[i]`` = dropped pairs before pair i (the shift that takes kept pair i to its destination index
    i - drop[i]); ``kept`` = kept pairs (the compacted output's pair count)."""

    def __init__(self, n_pos: int, keep):
        self.n_pos, self.keep = n_pos, keep
        w = _bits(n_pos)
        dropped = [Signal(w, name=f"dropped{i}") for i in range(n_pos)]
        self._dropped = dropped
        self.levels = []
        inp = dropped
        for j in range((n_pos - 1).bit_length()):
            lv = _PrefixLevel(j, inp, w)
            self.levels.append(lv)
            inp = lv.out
        self._inclusive = inp
        self.drop = [Signal(w, name=f"drop{i}") for i in range(n_pos)]
        self.kept = Signal(w)

    def elaborate(self, platform):
        m = Module()
        for j, lv in enumerate(self.levels):
            m.submodules[f"level{j}"] = lv
        for i in range(self.n_pos):
            m.d.comb += self._dropped[i].eq(~self.keep[i])
            m.d.comb += self.drop[i].eq(self._inclusive[i - 1] if i else 0)
        m.d.comb += self.kept.eq(self.n_pos - self._inclusive[-1])
        return m


class _ShiftStage(Elaboratable):
    """Stage k of the compaction network: the element at position p moves to p - 2^k when bit k of its shift is
    set. Kept elements never collide and keep their order when the stages run from bit 0 up."""

    def __init__(self, k: int, valid, codes, shift):
        self.k, self.valid_in, self.codes_in, self.shift_in = k, valid, codes, shift
        n = len(codes)
        self.valid = Signal(n, name=f"v{k}")
        self.codes = [Signal(4, name=f"c{k}_{p}") for p in range(n)]
        self.shift = [Signal(len(shift[0]), name=f"s{k}_{p}") for p in range(n)]

    def elaborate(self, platform):
        m = Module()
        n, step, k = len(self.codes), 1 << self.k, self.k
        for p in range(n):
            stay = self.valid_in[p] & ~self.shift_in[p][k]
            if p + step < n:
                move = self.valid_in[p + step] & self.shift_in[p + step][k]
                m.d.comb += [self.valid[p].eq(move | stay),
                             self.codes[p].eq(Mux(move, self.codes_in[p + step], self.codes_in[p])),
                             self.shift[p].eq(Mux(move, self.shift_in[p + step], self.shift_in[p]))]
            else:
                m.d.comb += [self.valid[p].eq(stay), self.codes[p].eq(self.codes_in[p]),
                             self.shift[p].eq(self.shift_in[p])]
        return m


class Compactor(Elaboratable):
    """Skipping's compaction stage over a window of ``n_pos`` pairs (one output's whole pair list): zero-test
    gates, a prefix counter, and a log-shifter network of ceil(log2 n_pos) stages; combinational (one cycle),
    each block its own submodule. Outputs: ``out_a`` / ``out_b`` the kept pairs' codes packed to positions
    0..kept-1 (zero above), ``kept``, and ``keep`` (the gates' outputs)."""

    def __init__(self, n_pos: int, qa, qb, pairs):
        self.gates = _ZeroGates(n_pos, qa, qb, pairs)
        self.prefix = _PrefixCount(n_pos, self.gates.keep)
        valid, codes, shift = self.gates.keep, self.gates.codes, self.prefix.drop
        self.stages = []
        for k in range((n_pos - 1).bit_length()):
            st = _ShiftStage(k, valid, codes, shift)
            self.stages.append(st)
            valid, codes, shift = st.valid, st.codes, st.shift
        self._valid, self._codes = valid, codes
        self.n_pos = n_pos
        self.keep, self.kept = self.gates.keep, self.prefix.kept
        self.out_a, self.out_b = Signal(2 * n_pos), Signal(2 * n_pos)

    def elaborate(self, platform):
        m = Module()
        m.submodules.gates = self.gates
        m.submodules.prefix = self.prefix
        for k, st in enumerate(self.stages):
            m.submodules[f"stage{k}"] = st
        for p in range(self.n_pos):
            c = Mux(self._valid[p], self._codes[p], 0)
            m.d.comb += [self.out_a[2 * p:2 * p + 2].eq(c[0:2]), self.out_b[2 * p:2 * p + 2].eq(c[2:4])]
        return m


class Lane(Elaboratable):
    """One lane (PE): the gate, the XNOR with its clock-enabled output register, and a fired flag.

    Inputs ``present`` (the lane holds a pair this beat), ``a`` / ``b`` (2-bit codes). ``fire`` (comb) =
    present & a nonzero & b nonzero when ``gated`` (the gate), else present (skipping: compacted pairs all
    fire). ``value`` (from the registers, one cycle later): +1 / -1 for a fired lane (sign_a XNOR sign_b),
    0 for a resting one."""

    def __init__(self, gated: bool = True):
        self.gated = gated
        self.present = Signal()
        self.a, self.b = Signal(2), Signal(2)
        self.fire = Signal()
        self.value = Signal(signed(2))

    def elaborate(self, platform):
        m = Module()
        if self.gated:
            m.d.comb += self.fire.eq(self.present & self.a[0] & self.b[0])
        else:
            m.d.comb += self.fire.eq(self.present)
        fired, xnor = Signal(), Signal()
        m.d.sync += fired.eq(self.fire)
        with m.If(self.fire):  # the gate is the XNOR register's clock enable
            m.d.sync += xnor.eq(~(self.a[1] ^ self.b[1]))
        m.d.comb += self.value.eq(Mux(fired, Mux(xnor, 1, -1), 0))
        return m


class PopcountTree(Elaboratable):
    """Signed adder tree over P lane values (the bitcount: sum of +1 / -1 over the fired lanes), a register
    after each of its ceil(log2 P) adder levels; level k's registers are clock-enabled by ``en`` delayed k
    cycles (the tree enable of the beat at that level). ``sum``: the tree's output, ``levels`` cycles after
    ``en``/``vals`` (for P = 1 the lane value itself)."""

    def __init__(self, lanes: int):
        self.P = int(lanes)
        self.levels = tree_levels(self.P)
        self.width = _bits(self.P) + 1
        self.vals = [Signal(signed(2), name=f"val{i}") for i in range(self.P)]
        self.en = Signal()
        self.sum = Signal(signed(self.width))

    def elaborate(self, platform):
        m = Module()
        level, en = list(self.vals), self.en
        for k in range(self.levels):
            nxt = []
            for j in range(0, len(level), 2):
                reg = Signal(signed(self.width), name=f"l{k}_{j // 2}")
                with m.If(en):
                    m.d.sync += reg.eq(level[j] + level[j + 1] if j + 1 < len(level) else level[j])
                nxt.append(reg)
            en_next = Signal(name=f"en{k + 1}")
            m.d.sync += en_next.eq(en)
            level, en = nxt, en_next
        m.d.comb += self.sum.eq(level[0])
        return m


class ComputeArray(Elaboratable):
    """Array ``index`` of A: controller FSM, operand registers (compactor), stream stage, P lanes, popcount tree,
    accumulator. ``act_rd`` / ``wt_rd``: its read ports of the operand buffer; ``out_wr``: its output write port;
    ``cfg``: the top's (start, rows, cols, pairs) signals."""

    def __init__(self, index: int, lanes: int, arrays: int, policy: str, max_pairs: int, max_rows: int,
                 max_cols: int, act_rd, wt_rd, out_wr, cfg):
        self.index, self.P, self.A, self.policy = index, lanes, arrays, policy
        self.max_pairs, self.max_rows, self.max_cols = max_pairs, max_rows, max_cols
        self.act_rd, self.wt_rd, self.out_wr = act_rd, wt_rd, out_wr
        self.start, self.rows, self.cols, self.pairs = cfg
        self.idle = Signal()
        # probes: the enables the testbench counts
        self.beat = Signal()  # the stream stage presents an output's pairs to the lanes this cycle
        self.lane_present = Signal(lanes)  # lane l holds a pair
        self.lane_fire = Signal(lanes)  # XNOR register clock enables
        self.tree_en = Signal()  # popcount tree (first level) clock enable
        self.cmp_en = Signal()  # skipping: the compactor packs an output this cycle
        self.cmp_present = Signal(max_pairs)  # skipping: pairs presented to the compactor's gates
        self.cmp_keep = Signal(max_pairs)  # skipping: kept pairs (each given its destination index)
        self.out_we = Signal()

    def elaborate(self, platform):
        m = Module()
        P, A, Mx = self.P, self.A, self.max_pairs
        W = 2 * Mx
        n_out_max = self.max_rows * self.max_cols
        R, N, M = self.rows, self.cols, self.pairs

        # ---- F: controller FSM and address generator -----------------------------------------------------
        f_r = Signal(_bits(self.max_rows + A))
        f_n = Signal(_bits(self.max_cols + A))
        f_o = Signal(_bits(n_out_max + A))
        f_issue = Signal()
        q_ready = Signal()
        pipe_empty = Signal()

        def wrap(r, n):
            """(r, n) with n reduced below N by a chain of A conditional subtractions (n < N + A)."""
            for _ in range(A):
                c = n >= N
                n = Mux(c, n - N, n)
                r = r + c
            return r, n

        r0, n0 = wrap(Const(0, f_r.shape()), Const(self.index, f_n.shape()))
        r1, n1 = wrap(f_r, f_n + A)
        with m.FSM(name="ctrl"):
            with m.State("IDLE"):
                m.d.comb += self.idle.eq(1)
                with m.If(self.start):
                    m.d.sync += [f_r.eq(r0), f_n.eq(n0), f_o.eq(self.index)]
                    m.next = "ISSUE"
            with m.State("ISSUE"):
                with m.If(f_r >= R):
                    m.next = "FLUSH"
                with m.Elif(q_ready):
                    m.d.comb += f_issue.eq(1)
                    m.d.sync += [f_r.eq(r1), f_n.eq(n1), f_o.eq(f_o + A)]
            with m.State("FLUSH"):
                with m.If(pipe_empty):
                    m.next = "IDLE"
        m.d.comb += [self.act_rd.addr.eq(f_r), self.wt_rd.addr.eq(f_n),
                     self.act_rd.en.eq(f_issue), self.wt_rd.en.eq(f_issue)]

        # ---- Q: the read ports' data registers ------------------------------------------------------------
        q_valid = Signal()
        q_idx = Signal.like(f_o)
        c_take = Signal()
        m.d.comb += q_ready.eq(~q_valid | c_take)
        with m.If(f_issue):
            m.d.sync += [q_valid.eq(1), q_idx.eq(f_o)]
        with m.Elif(c_take):
            m.d.sync += q_valid.eq(0)

        # ---- C: operand registers (skipping: the compactor) -----------------------------------------------
        c_valid = Signal()
        c_a, c_b = Signal(W), Signal(W)
        c_rem = Signal(_bits(Mx))
        c_idx = Signal.like(f_o)
        s_load = Signal()
        m.d.comb += c_take.eq(q_valid & (~c_valid | s_load))
        qa, qb = self.act_rd.data, self.wt_rd.data
        if self.policy == "gating":
            new_a, new_b, new_rem = qa, qb, M
        else:
            m.submodules.compactor = cmp = Compactor(Mx, qa, qb, M)
            new_a, new_b, new_rem = cmp.out_a, cmp.out_b, cmp.kept
            # the probes: pairs presented to the gates, and kept pairs (each given its index), when C loads
            m.d.comb += [self.cmp_present.eq(Mux(c_take, cmp.gates.present, 0)),
                         self.cmp_keep.eq(Mux(c_take, cmp.keep, 0))]
            m.d.comb += self.cmp_en.eq(c_take)
        with m.If(c_take):
            m.d.sync += [c_valid.eq(1), c_a.eq(new_a), c_b.eq(new_b), c_rem.eq(new_rem), c_idx.eq(q_idx)]
        with m.Elif(s_load):
            m.d.sync += c_valid.eq(0)

        # ---- S: stream stage (shift registers, remaining-pair counter) -------------------------------------
        s_valid = Signal()
        s_a, s_b = Signal(W), Signal(W)
        s_rem = Signal(_bits(Mx))
        s_idx = Signal.like(f_o)
        s_first = Signal()
        s_last = Signal()
        m.d.comb += [s_last.eq(s_rem <= P), s_load.eq(c_valid & (~s_valid | s_last)), self.beat.eq(s_valid)]
        with m.If(s_load):
            m.d.sync += [s_valid.eq(1), s_a.eq(c_a), s_b.eq(c_b), s_rem.eq(c_rem), s_idx.eq(c_idx),
                         s_first.eq(1)]
        with m.Elif(s_valid):
            with m.If(s_last):
                m.d.sync += s_valid.eq(0)
            with m.Else():
                m.d.sync += [s_a.eq(s_a.shift_right(2 * P)), s_b.eq(s_b.shift_right(2 * P)),
                             s_rem.eq(s_rem - P), s_first.eq(0)]

        # ---- L: the P lanes (gate = XNOR clock enable) -----------------------------------------------------
        lanes = []
        for lane in range(P):
            m.submodules[f"lane{lane}"] = ln = Lane(gated=self.policy == "gating")
            if lane < Mx:
                m.d.comb += [ln.a.eq(s_a[2 * lane:2 * lane + 2]), ln.b.eq(s_b[2 * lane:2 * lane + 2])]
            # (a lane past the buffer's width never holds a pair: its codes stay 0)
            m.d.comb += [ln.present.eq(s_valid & (s_rem > lane)),
                         self.lane_present[lane].eq(ln.present), self.lane_fire[lane].eq(ln.fire)]
            lanes.append(ln)
        m.d.comb += self.tree_en.eq(self.lane_fire.any())

        # tags of the beat in the lane registers: valid, first, last, tree enable, output index
        t = Signal(4 + len(f_o), name="tag_l")
        m.d.sync += t.eq(Cat(s_valid, s_first, s_valid & s_last, self.tree_en, s_idx))
        tag_valids = [t[0]]

        # ---- T: popcount tree, a register after each adder level, clock-enabled by the tree enable ---------
        m.submodules.tree = tree = PopcountTree(P)
        m.d.comb += [tree.en.eq(t[3])] + [tree.vals[i].eq(ln.value) for i, ln in enumerate(lanes)]
        for k in range(tree.levels):  # the tags travel beside the tree's levels
            t2 = Signal.like(t, name=f"tag_t{k}")
            m.d.sync += t2.eq(t)
            t = t2
            tag_valids.append(t[0])
        tree_sum = tree.sum

        # ---- ACC: accumulator and output write -------------------------------------------------------------
        a_valid, a_first, a_last, a_ten, a_idx = t[0], t[1], t[2], t[3], t[4:]
        acc = Signal(signed(_bits(Mx) + 1))
        acc_in = Signal.like(acc)
        m.d.comb += acc_in.eq(Mux(a_first, 0, acc) + Mux(a_ten, tree_sum, 0))
        with m.If(a_valid):
            m.d.sync += acc.eq(acc_in)
        m.d.comb += [self.out_wr.addr.eq(a_idx), self.out_wr.data.eq(acc_in),
                     self.out_wr.en.eq(a_valid & a_last), self.out_we.eq(a_valid & a_last)]

        # empty: no output in Q, C, S, nor a beat in the lane or tree registers
        m.d.comb += pipe_empty.eq(~Cat(q_valid, c_valid, s_valid, *tag_valids).any())
        return m


class GatedXnorUnit(Elaboratable):
    """A arrays of P gated-XNOR lanes, their operand buffer and output memory, and the top controller.

    Inputs: ``start`` (one cycle), ``rows`` R, ``cols`` N, ``pairs`` M (held during a run; R*N outputs of M
    pairs each, R <= max_rows, N <= max_cols, M <= max_pairs, N >= 1). Output: ``done`` (one cycle)."""

    def __init__(self, lanes: int, arrays: int, policy: str, *, max_pairs: int = 40, max_rows: int = 24,
                 max_cols: int = 24):
        problem = None
        if policy not in POLICIES:
            problem = f"policy must be one of {POLICIES}, got {policy!r}"
        elif min(lanes, arrays, max_pairs, max_rows, max_cols) < 1:
            problem = "lanes, arrays and buffer sizes must be >= 1"
        if problem:
            self._MustUse__silence = True  # never elaborated: no 'created but never used' warning
            raise ValueError(problem)
        self.P, self.A, self.policy = int(lanes), int(arrays), policy
        self.max_pairs, self.max_rows, self.max_cols = int(max_pairs), int(max_rows), int(max_cols)
        self.start = Signal()
        self.rows = Signal(_bits(max_rows))
        self.cols = Signal(_bits(max_cols))
        self.pairs = Signal(_bits(max_pairs))
        self.done = Signal()
        self.act_mem = Memory(shape=unsigned(2 * max_pairs), depth=max_rows, init=[])
        self.wt_mem = Memory(shape=unsigned(2 * max_pairs), depth=max_cols, init=[])
        self.out_mem = Memory(shape=signed(_bits(max_pairs) + 1), depth=max_rows * max_cols, init=[])
        cfg = (self.start, self.rows, self.cols, self.pairs)
        self.arrays = [ComputeArray(a, self.P, self.A, policy, self.max_pairs, self.max_rows, self.max_cols,
                                    self.act_mem.read_port(), self.wt_mem.read_port(), self.out_mem.write_port(),
                                    cfg) for a in range(self.A)]

    def elaborate(self, platform):
        m = Module()
        m.submodules.act_mem = self.act_mem
        m.submodules.wt_mem = self.wt_mem
        m.submodules.out_mem = self.out_mem
        for a, arr in enumerate(self.arrays):
            m.submodules[f"array{a}"] = arr
        all_idle = Signal()
        m.d.comb += all_idle.eq(Cat(*[arr.idle for arr in self.arrays]).all())
        with m.FSM(name="top"):
            with m.State("IDLE"):
                with m.If(self.start):
                    m.next = "RUN"
            with m.State("RUN"):
                with m.If(all_idle):
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.done.eq(1)
                m.next = "IDLE"
        return m


# --------------------------------------------------------------------------------------------------------------
# the testbench driver


def encode_codes(v: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """2-bit codes of ternary values (bit 0 nonzero, bit 1 sign). A zero gets a random sign bit when ``rng`` is
    given (the design must ignore it)."""
    v = np.asarray(v)
    if not np.isin(v, (-1, 0, 1)).all():
        raise ValueError("operands must be ternary (-1, 0, 1)")
    nz = (v != 0).astype(np.int64)
    sign = (v < 0).astype(np.int64)
    if rng is not None:
        sign = np.where(nz == 1, sign, rng.integers(0, 2, v.shape))
    return nz | (sign << 1)


def _word(codes, width_pairs: int, rng: np.random.Generator | None) -> int:
    """One buffer word: pair m's code at bits 2m..2m+1; the positions past the vector hold random codes when
    ``rng`` is given (the design must not read them)."""
    codes = [int(c) for c in codes]
    if rng is not None:
        codes += [int(c) for c in rng.integers(0, 4, width_pairs - len(codes))]
    word = 0
    for m, c in enumerate(codes):
        word |= c << (2 * m)
    return word


@dataclass
class RtlResult:
    """What the testbench observed for one product ``a @ b`` on the design."""

    outputs: np.ndarray  # (R*N,) the values the design wrote, output o = r*N + n
    per_array_cycles: np.ndarray  # (A,) beats (busy cycles) of each array
    actions: dict[str, int]  # gate_check, xnor, bitcount_add, rest (+ index, compact for skipping)
    run_cycles: int  # start cycle .. last output write, inclusive
    first_beat: list  # per array: cycle of its first beat (None without outputs)
    contiguous: list  # per array: its beats formed one unbroken run of cycles
    writes: int  # output writes seen
    written: set = field(default_factory=set)  # output addresses written

    @property
    def compute_cycles(self) -> int:
        return int(self.per_array_cycles.max()) if self.per_array_cycles.size else 0


class RtlArraySim:
    """The design in Amaranth's simulator, kept for many products (the same P, A, policy and buffer sizes)."""

    def __init__(self, lanes: int, arrays: int, policy: str, *, max_pairs: int = 40, max_rows: int = 24,
                 max_cols: int = 24, seed: int = 0):
        self.dut = GatedXnorUnit(lanes, arrays, policy, max_pairs=max_pairs, max_rows=max_rows,
                                 max_cols=max_cols)
        self.P, self.A, self.policy = self.dut.P, self.dut.A, policy
        self.fill, self.drain = pipeline_timing(self.P)
        self.rng = np.random.default_rng(seed)
        self.max_cycles = 16 + max_rows * max_cols * (max_pairs // self.P + 2)  # a hang guard

    def run(self, products: list[tuple[np.ndarray, np.ndarray]]) -> list[RtlResult]:
        """Run each ternary product ``a @ b`` (a (R, M), b (M, N)) to completion, one after another, in one
        simulation (each call elaborates and compiles the design anew: batch the products)."""
        d = self.dut
        for a, b in products:
            R, M = a.shape
            if b.shape[0] != M or not (1 <= R <= d.max_rows and 1 <= b.shape[1] <= d.max_cols
                                       and 0 <= M <= d.max_pairs):
                raise ValueError(f"product {a.shape} @ {b.shape} does not fit the design's buffers")
        results: list[RtlResult] = []
        skipping = self.policy == "skipping"
        probes = []
        for arr in d.arrays:
            probes += [arr.beat, arr.lane_present, arr.lane_fire, arr.tree_en, arr.out_we]
            if skipping:
                probes += [arr.cmp_en, arr.cmp_present, arr.cmp_keep]
        per = 8 if skipping else 5
        P, A, rng = self.P, self.A, self.rng
        sentinel = -(1 << (d.out_mem.shape.width - 1))  # below any output (|y| <= M)

        async def bench(ctx):
            for a, b in products:
                R, M = a.shape
                N = b.shape[1]
                ca, cb = encode_codes(a, rng), encode_codes(b, rng)
                for r in range(R):
                    ctx.set(d.act_mem.data[r], _word(ca[r], d.max_pairs, rng))
                for n in range(N):
                    ctx.set(d.wt_mem.data[n], _word(cb[:, n], d.max_pairs, rng))
                for o in range(R * N):
                    ctx.set(d.out_mem.data[o], sentinel)
                ctx.set(d.rows, R)
                ctx.set(d.cols, N)
                ctx.set(d.pairs, M)
                ctx.set(d.start, 1)
                busy = [0] * A
                first = [None] * A
                last = [None] * A
                contiguous = [True] * A
                act = dict(gate_check=0, xnor=0, bitcount_add=0, rest=0)
                if skipping:
                    act.update(index=0, compact=0)
                writes, last_write = 0, None
                cycle = 0
                async for _clk, _rst, done, *vals in ctx.tick().sample(d.done, *probes):
                    if cycle == 0:
                        ctx.set(d.start, 0)
                    for i in range(A):
                        v = vals[i * per:(i + 1) * per]
                        beat, present, fire, tree_en, we = v[:5]
                        if beat:
                            busy[i] += 1
                            if first[i] is None:
                                first[i] = cycle
                            elif last[i] != cycle - 1:
                                contiguous[i] = False
                            last[i] = cycle
                            nf = fire.bit_count()
                            act["xnor"] += nf
                            act["rest"] += P - nf
                            act["bitcount_add"] += P * tree_en  # an enabled tree: its P inputs
                            if not skipping:
                                act["gate_check"] += present.bit_count()
                        elif fire or tree_en or present:
                            raise AssertionError(f"array {i}: lanes enabled outside a beat (cycle {cycle})")
                        if skipping and v[5]:
                            n_present = v[6].bit_count()
                            act["compact"] += n_present
                            act["gate_check"] += n_present
                            act["index"] += v[7].bit_count()
                        if we:
                            writes += 1
                            last_write = cycle
                    if done:
                        break
                    cycle += 1
                    if cycle > self.max_cycles:
                        raise AssertionError("the design did not finish")
                outs = np.array([ctx.get(d.out_mem.data[o]) for o in range(R * N)], dtype=np.int64)
                written = {o for o in range(R * N) if outs[o] != sentinel}
                results.append(RtlResult(outputs=outs, per_array_cycles=np.array(busy, dtype=np.int64),
                                         actions=act,
                                         run_cycles=(last_write + 1) if last_write is not None else 0,
                                         first_beat=first, contiguous=contiguous, writes=writes,
                                         written=written))

        sim = Simulator(d)
        sim.add_clock(1e-6)
        sim.add_testbench(bench)
        sim.run()
        return results


# --------------------------------------------------------------------------------------------------------------
# layer products as generic products (explicit im2col), in the cost model's output and pair orders


def lower_product(x: np.ndarray, w: np.ndarray | None, layer: dict, *, dy: np.ndarray | None = None,
                  product: str = "forward") -> tuple[np.ndarray, np.ndarray]:
    """(a, b) with the product's outputs o = r*N + n and pairs (a[r, m], b[m, n]) by m, in the orders of
    ``docs/model.md`` 4.1. Dense: forward (x, w), dX (dy, w^T), dW (x^T, dy). Conv (stride s, padding p):
    forward a[(b, oh, ow), (dh, dw, c)] = x_pad[b, oh s + dh, ow s + dw, c], b = w as (kh kw C, F); dW
    a[(dh, dw, c), (b, oh, ow)] = the same patches, b = dy as (B OH OW, F); dX (transposed conv)
    a[(b, ih, iw), (dh, dw, f)] = dy[b, oh, ow, f] with oh = (ih + p - dh) / s, ow = (iw + p - dw) / s where those
    are integers in range, else 0, and b[(dh, dw, f), c] = w[dh, dw, c, f]."""
    ltype = layer.get("type")
    if ltype == "dense":
        if product == "forward":
            return np.asarray(x), np.asarray(w)
        if product == "dx":
            return np.asarray(dy), np.asarray(w).T
        return np.asarray(x).T, np.asarray(dy)
    s, p = int(layer.get("stride", 1)), int(layer.get("padding", 0))
    x = np.asarray(x)
    B, H, W_, C = x.shape
    if product == "dw" and w is None:
        kh = kw = int(layer["kernel"])
    else:
        kh, kw = np.asarray(w).shape[:2]
    OH, OW = (H + 2 * p - kh) // s + 1, (W_ + 2 * p - kw) // s + 1
    xp = np.zeros((B, H + 2 * p, W_ + 2 * p, C), dtype=x.dtype)
    xp[:, p:p + H, p:p + W_, :] = x
    if product in ("forward", "dw"):
        patches = np.zeros((B, OH, OW, kh, kw, C), dtype=x.dtype)
        for bb in range(B):
            for oh in range(OH):
                for ow in range(OW):
                    patches[bb, oh, ow] = xp[bb, oh * s:oh * s + kh, ow * s:ow * s + kw, :]
        if product == "forward":
            F = np.asarray(w).shape[3]
            return patches.reshape(B * OH * OW, kh * kw * C), np.asarray(w).reshape(kh * kw * C, F)
        F = np.asarray(dy).shape[3]
        a = patches.reshape(B * OH * OW, kh * kw * C).T
        return a, np.asarray(dy).reshape(B * OH * OW, F)
    dy = np.asarray(dy)
    F = dy.shape[3]
    a = np.zeros((B, H, W_, kh, kw, F), dtype=dy.dtype)
    for bb in range(B):
        for ih in range(H):
            for iw in range(W_):
                for dh in range(kh):
                    for dw in range(kw):
                        th, tw = ih + p - dh, iw + p - dw
                        if th % s == 0 and tw % s == 0 and 0 <= th // s < OH and 0 <= tw // s < OW:
                            a[bb, ih, iw, dh, dw] = dy[bb, th // s, tw // s]
    b = np.asarray(w).transpose(0, 1, 3, 2).reshape(kh * kw * F, C)
    return a.reshape(B * H * W_, kh * kw * F), b
