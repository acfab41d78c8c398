"""Discrete weight spaces Z_N ([DST] eq. 1): 2^N + 1 evenly spaced states on [-L, L].

A weight is held as its integer state index n in 0..2^N (N + 1 bits); its value is
z_N^n = (n / 2^(N-1) - 1) * L, so the spacing is dz = L / 2^(N-1). N = 0 is binary {-L, L},
N = 1 ternary {-L, 0, L}.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DiscreteSpace:
    """Z_N on [-L, L]; converts between state indices and values."""

    N: int
    L: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.N, (int, np.integer)) or isinstance(self.N, bool) or self.N < 0:
            raise ValueError(f"weight space N must be an integer >= 0 (got {self.N!r})")
        if self.N > 14:
            raise ValueError(f"weight space N must be <= 14 (2^N + 1 states in int16), got {self.N}")
        if not np.isfinite(self.L) or self.L <= 0:
            raise ValueError(f"weight range L must be a finite number > 0 (got {self.L!r})")

    @property
    def n_states(self) -> int:
        return 2**self.N + 1

    @property
    def max_index(self) -> int:
        return 2**self.N

    @property
    def bits(self) -> int:
        """Bits needed to store one state index: ceil(log2(2^N + 1)) = N + 1."""
        return self.N + 1

    @property
    def dz(self) -> float:
        """Distance between adjacent states, L / 2^(N-1)."""
        return self.L / 2.0 ** (self.N - 1)

    @property
    def zero_index(self) -> int | None:
        """Index of the state 0, or None for the binary space (N = 0 has no zero state)."""
        return 2 ** (self.N - 1) if self.N >= 1 else None

    def states(self) -> np.ndarray:
        """All state values, ascending (float64)."""
        return self.values(np.arange(self.n_states))

    def values(self, index: np.ndarray, dtype=np.float64) -> np.ndarray:
        """Values of state indices: n * dz - L."""
        return (np.asarray(index, dtype=np.float64) * self.dz - self.L).astype(dtype)

    def indices(self, values: np.ndarray) -> np.ndarray:
        """State indices of values that lie on the grid (raises if one does not)."""
        q = (np.asarray(values, dtype=np.float64) + self.L) / self.dz
        idx = np.rint(q)
        if np.any(np.abs(q - idx) > 1e-6) or np.any(idx < 0) or np.any(idx > self.max_index):
            raise ValueError(f"values are not states of Z_{self.N} on [-{self.L}, {self.L}]")
        return idx.astype(np.int16)

    def projection_probabilities(self, w: np.ndarray) -> np.ndarray:
        """Probabilities of projecting real w in [-L, L] onto each state ([DST] eqs. 2-3).

        Returns (len(w), 2^N + 1): w in [z^m, z^(m+1)] goes to z^m with probability 1 - (w - z^m)/dz and
        to z^(m+1) with (w - z^m)/dz; every row sums to one (eq. 4).
        """
        w = np.clip(np.asarray(w, dtype=np.float64).ravel(), -self.L, self.L)
        q = (w + self.L) / self.dz
        lower = np.minimum(np.floor(q).astype(np.int64), self.max_index - 1)
        frac = q - lower
        probs = np.zeros((w.size, self.n_states))
        rows = np.arange(w.size)
        probs[rows, lower] = 1.0 - frac
        probs[rows, lower + 1] += frac
        return probs

    def project(self, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Stochastic, unbiased projection of real w in [-L, L] onto state indices (eqs. 2-3)."""
        w = np.clip(np.asarray(w, dtype=np.float64), -self.L, self.L)
        q = (w + self.L) / self.dz
        lower = np.minimum(np.floor(q), self.max_index - 1)
        up = rng.random(w.shape) < (q - lower)
        return (lower + up).astype(np.int16)
