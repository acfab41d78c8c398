"""One pipeline for the CLI, ``explore/`` and the Python API: a source of operands -> observers -> a report.

Sources: a training run (:func:`train_and_report`), a saved model (:func:`load_model_into`, then
:func:`evaluate_and_report`) and an imported topology (:func:`topology_report`). Observers: the core's counting
observer and the architecture's hardware observer (:class:`HardwareRun`). Report: summary.json, layers.csv, the
plots and report.html (:mod:`neurosim.report`). The library never imports the CLI.
"""
from .hardware import HardwareRun, operand_alphabet, weight_bits
from .inference import evaluate_and_report
from .model_file import load_model_into, model_meta, model_workload, save_model
from .prepare import REPORTS_DIR, Overrides, Prepared, make_method_for, prepare, run_id
from .topology import layer_infos, simulate_topology, topology_report
from .training import train_and_report

__all__ = ["HardwareRun", "operand_alphabet", "weight_bits", "evaluate_and_report",
           "load_model_into", "model_meta", "model_workload", "save_model", "REPORTS_DIR", "Overrides", "Prepared",
           "make_method_for", "prepare", "run_id", "layer_infos", "simulate_topology", "topology_report",
           "train_and_report"]
