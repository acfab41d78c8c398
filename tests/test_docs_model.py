"""docs/model.md shows the component table the registries render now (classes, attributes, kinds, actions)."""
from __future__ import annotations

from pathlib import Path

import pytest

from neurosim.hw.catalog import BEGIN, END, _blocks, component_table, document_table, update_document
from neurosim.hw.components import component_classes
from neurosim.hw.components.compute_array import SKIP_ACTIONS, ComputeAttributes
from neurosim.hw.kinds import kinds

DOC = Path(__file__).resolve().parents[1] / "docs" / "model.md"


def test_document_shows_the_current_component_table():
    shown = document_table(DOC.read_text())
    assert shown == component_table(), (
        "docs/model.md shows an outdated component table; run: python -m neurosim.hw.catalog --update docs/model.md")


def test_table_names_every_class_attribute_kind_and_action():
    table = component_table()
    for name, cls in component_classes().items():
        assert f"| `{name}` |" in table
        for attr in cls.Attributes.model_fields:
            assert f"| `{name}` | `{attr}` |" in table
    for name, k in kinds().items():
        assert f"| `{name}` | {k.fires} |" in table
        attrs = ComputeAttributes(kind=name, lanes=1, policy="skipping" if k.event_driven else "gating")
        for action, spec in component_classes()["compute_array"].actions(attrs).items():
            row = [r for r in table.splitlines() if r.startswith(f"| `compute_array` | kind: {name}")
                   and f"| `{action}` | {spec.unit} |" in r]
            assert len(row) == 1, (name, action)


def test_compute_array_blocks_show_skipping_actions_of_event_kinds_only():
    blocks = {label: actions for label, actions, _ in _blocks(component_classes()["compute_array"])}
    for name, k in kinds().items():
        (label,) = [lab for lab in blocks if lab.split(",")[0] == f"kind: {name}"]
        assert (set(SKIP_ACTIONS) <= set(blocks[label])) == k.event_driven


def test_update_document_rewrites_only_the_block(tmp_path):
    doc = tmp_path / "model.md"
    doc.write_text(f"before\n{BEGIN}\nstale\n{END}\nafter\n")
    assert update_document(doc)
    text = doc.read_text()
    assert text.startswith(f"before\n{BEGIN}\n") and text.endswith(f"{END}\nafter\n")
    assert document_table(text) == component_table()
    assert not update_document(doc)
    doc.write_text("no markers\n")
    with pytest.raises(ValueError, match="component-table"):
        document_table(doc.read_text())
