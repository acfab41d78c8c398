"""examples/quickstart.ipynb runs top to bottom in a fresh kernel (nbclient), as a user would run it.

The kernel is the ``python3`` kernelspec that ipykernel installs into the environment (the ``test`` extra has it);
jupyter_client starts its ``python`` as this interpreter (sys.executable), so the notebook imports the neurosim
under test. The notebook asserts its own results; here we check that every cell ran without an error, the
headline cells produced their outputs (the RunResult's HTML table, the bar chart as a PNG) and that the notebook is
stored without outputs (a stale output in the repo would show numbers the code no longer gives)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[test]')")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[test]')")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[test]'): no kernel to run")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"
BUDGET_S = 60  # the notebook's run time the docs promise on an idle laptop; a loaded CI host gets 4x


def _code(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    stale = [i for i, c in enumerate(_code(nb)) if c.outputs or c.execution_count is not None]
    assert stale == [], f"code cells {stale} of {NOTEBOOK.name} hold outputs; clear them before committing"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.slow
def test_the_quickstart_notebook_runs(tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.skip("no python3 kernelspec (install ipykernel into this environment)")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=4 * BUDGET_S,
                                     resources={"metadata": {"path": str(tmp_path)}})  # cwd: default reports/ here
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    seconds = time.perf_counter() - t0
    cells = _code(nb)
    errors = [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert all(c.execution_count is not None for c in cells)
    kinds = [{k for o in c.outputs for k in o.get("data", {})} for c in cells]
    run_cell = next(i for i, c in enumerate(cells) if "neurosim.run(" in c.source)
    assert "text/html" in kinds[run_cell]  # RunResult._repr_html_
    html = next(o.data["text/html"] for o in cells[run_cell].outputs if "text/html" in o.get("data", {}))
    assert "test accuracy" in html and "training energy" in html
    chart = next(i for i, c in enumerate(cells) if ".plot.bar(" in c.source)
    assert "image/png" in kinds[chart], "the bar chart did not render (matplotlib backend left on Agg?)"
    assert not (tmp_path / "reports").exists()  # the notebook writes into its own temporary folder
    assert seconds < 4 * BUDGET_S, f"the notebook took {seconds:.0f} s"
