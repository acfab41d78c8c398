"""Oracles for the tests: independent implementations the library is checked against; never imported by the
library.

- :mod:`.reference`: the brute-force per-cycle stepper of the compute-array cost model (small shapes);
- :mod:`.byte_kernels`: the per-pair byte scan of the same model (numba; larger shapes), with the signatures
  of :func:`neurosim.hw.costs.layer_costs` / :func:`~neurosim.hw.costs.product_costs`.
"""
