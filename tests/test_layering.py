"""The package's layering, checked on the source: core and hw never import each other, the library never imports the
CLI, testing oracles are never imported by the library, and no two modules import each other in a circle."""
import ast
from pathlib import Path

import networkx as nx

PKG = Path(__file__).resolve().parents[1] / "neurosim"


def _module(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Module -> the neurosim modules it imports (module level and inside functions)."""
    graph: dict[str, set[str]] = {}
    for path in PKG.rglob("*.py"):
        mod = _module(path)
        pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                out |= {a.name for a in node.names if a.name.startswith("neurosim")}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")
                    base = base[:len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.startswith("neurosim"):
                    out.add(target)
                    out |= {f"{target}.{a.name}" for a in node.names}
        graph[mod] = out
    known = set(graph)
    return {m: {t for t in ts if t in known and t != m} for m, ts in graph.items()}


IMPORTS = _imports()


def _importers(prefix: str, of: str) -> list[str]:
    return sorted(m for m, ts in IMPORTS.items() if m.startswith(prefix) and any(t.startswith(of) for t in ts))


def test_core_and_hw_never_import_each_other():
    assert _importers("neurosim.core", "neurosim.hw") == []
    assert _importers("neurosim.hw", "neurosim.core") == []
    assert _importers("neurosim.hw", "neurosim.pipeline") == []


def test_the_library_never_imports_the_cli_or_the_oracles():
    assert [m for m, ts in IMPORTS.items() if "neurosim.cli" in ts and m != "neurosim.cli"] == []
    assert [m for m in _importers("neurosim", "neurosim.testing") if not m.startswith("neurosim.testing")] == []


def test_no_import_cycles():
    g = nx.DiGraph()
    for m, ts in IMPORTS.items():
        g.add_node(m)
        g.add_edges_from((m, t) for t in ts if not m.startswith(t + "."))  # a module may use its own package
    cycles = [c for c in nx.simple_cycles(g) if len(c) > 1]
    assert cycles == [], cycles[:5]


def test_both_observers_are_stateful_observers():
    """The checkpoint half of the protocol (state / load_state / finish) is declared once in events.py."""
    from neurosim.core.counting import CountingObserver
    from neurosim.events import LayerInfo, StatefulObserver
    from neurosim.hw.arch import load_arch
    from neurosim.hw.observer import HardwareObserver
    from neurosim.hw.weight_memory import WeightBits

    info = LayerInfo(0, "fc", "dense", (4,), (2,), {"units": 2}, weight_bits=2, weight_count=8, activation_bits=2)
    for obs in (CountingObserver(), HardwareObserver(load_arch("gxnor"), [info], 1, WeightBits(stored=2)),
                HardwareObserver(load_arch("crossbar_dst"), [info], 1, weight_N=1)):
        assert isinstance(obs, StatefulObserver)
