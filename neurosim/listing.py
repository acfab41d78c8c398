"""What ships with neurosim, by name with a line each: architectures, workloads (YAML, topology CSVs, sweep
files), training methods, component classes and compute kinds (``neurosim list TOPIC``).

Descriptions come from the files themselves (an architecture's or workload's ``description``, else its first
comment line) and from the registries (each component class and compute kind declares its ``description``).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Callable

__all__ = ["TOPICS", "Entry", "entries", "is_sweep_file", "lines", "one_line"]

Entry = tuple[str, str]  # (name, one-line description)

_WIDTH = 110


def one_line(text: str, width: int = _WIDTH) -> str:
    """The first sentence of ``text`` on one line, cut at a word to ``width`` characters."""
    flat = " ".join(str(text).split())
    first = re.split(r"(?<=[A-Za-z0-9)\]])\.\s", flat, maxsplit=1)[0].rstrip(".")
    if len(first) <= width:
        return first
    return first[:width - 3].rsplit(" ", 1)[0] + "..."


def _first_comment(path: Path) -> str:
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        s = raw.strip()
        if s.startswith("#"):
            return s.lstrip("#").strip()
        if s:
            break
    return ""


def _yaml(path: Path) -> dict:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return doc if isinstance(doc, dict) else {}


def is_sweep_file(path: Path) -> bool:
    """Whether a YAML file of workloads/ is a sweep file (``base`` and ``axes``) rather than a workload."""
    doc = _yaml(path)
    return "axes" in doc or "base" in doc


def _described(path: Path, doc: dict, width: int = _WIDTH) -> str:
    text = doc.get("description")
    return one_line(text if isinstance(text, str) and text.strip() else _first_comment(path), width)


def archs() -> list[Entry]:
    """The shipped architecture files (``arch_configs/``), by name."""
    from .hw.arch import shipped_archs

    return [(p.stem, _described(p, _yaml(p))) for p in shipped_archs()]


def _csv_layers(path: Path) -> int:
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    return sum(1 for r in rows if r and re.fullmatch(r"\s*\d+\s*", r[1] if len(r) > 1 else r[0]))


def workloads() -> list[Entry]:
    """The shipped workloads: YAML workloads (with their network), topology CSVs, then sweep files."""
    from .schema.workload import WORKLOAD_DIR

    base = Path(str(WORKLOAD_DIR))
    yaml_rows, sweeps, topologies = [], [], []
    for p in sorted(base.glob("*.yaml")):
        doc = _yaml(p)
        if is_sweep_file(p):
            sweeps.append((p.name, f"sweep file: {_described(p, doc)}"))
        else:
            net = doc.get("network")
            data = (doc.get("dataset") or {}).get("name") if isinstance(doc.get("dataset"), dict) else None
            what = ", ".join(str(v) for v in (data, net) if v)
            yaml_rows.append((p.stem, _described(p, doc, 80) + (f" ({what})" if what else "")))
    for p in sorted(base.glob("*.csv")):
        topologies.append((p.name, f"topology CSV (SCALE-Sim / NeuroSim), {_csv_layers(p)} layers, random operands "
                                   f"(neurosim run {p.name} --arch ARCH)"))
    return yaml_rows + topologies + sweeps


def methods() -> list[Entry]:
    """The training methods (``--method``)."""
    from .names import METHOD_DESCRIPTIONS, METHOD_NAMES

    return [(m, METHOD_DESCRIPTIONS[m]) for m in METHOD_NAMES]


def components() -> list[Entry]:
    """The component classes of an architecture file (``class:``), from the registry."""
    from .hw.components import component_classes

    return [(name, one_line(cls.description)) for name, cls in component_classes().items()]


def kinds() -> list[Entry]:
    """The compute kinds (``compute_array`` attribute ``kind``), from the registry."""
    from .hw.kinds import kinds as registry

    return [(name, one_line(k.description)) for name, k in registry().items()]


TOPICS: dict[str, Callable[[], list[Entry]]] = {"archs": archs, "workloads": workloads, "methods": methods,
                                                "components": components, "kinds": kinds}


def entries(topic: str) -> list[Entry]:
    """The entries of ``topic`` (one of :data:`TOPICS`; a ValueError with the closest names otherwise)."""
    from .names import UnknownName, unknown_name

    if topic not in TOPICS:
        raise UnknownName(f"neurosim list: {unknown_name('topic', topic, TOPICS, 'allowed')}")
    return TOPICS[topic]()


def lines(topic: str) -> list[str]:
    """The entries of ``topic`` as aligned text lines."""
    rows = entries(topic)
    width = max((len(n) for n, _ in rows), default=0)
    return [f"{n:{width}s}  {d}".rstrip() for n, d in rows]
