"""Strict YAML reading for every input file (architectures, workloads, sweeps).

One set of rules, so a workload and an architecture are read the same way:

- the safe loader only (no Python objects);
- a duplicate key is an error (PyYAML silently keeps the last one);
- numbers in any YAML form are numbers: ``1e-3`` and ``10e3`` are floats (YAML 1.1 reads them as strings);
- a file that cannot be read, is not UTF-8, or is not valid YAML is an error naming the file (and line).

Errors go to a ``fail(key, message)`` callback, so each loader raises its own error type naming the file.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, NoReturn

import yaml

__all__ = ["StrictLoader", "load_yaml_text", "read_yaml_mapping"]


class StrictLoader(yaml.SafeLoader):
    """Safe YAML loader that rejects duplicate keys and reads 1e-3 as a float (YAML 1.2 style)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def load_yaml_text(text: str, fail: Callable[[str, str], NoReturn]):
    """Parse YAML text with :class:`StrictLoader`; a syntax error or duplicate key goes to ``fail``."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<yaml>"
        fail(where, f"YAML syntax error: {getattr(e, 'problem', None) or e}")


def read_yaml_mapping(path: Path, fail: Callable[[str, str], NoReturn], top_keys: tuple[str, ...]) -> dict:
    """The top-level mapping of a YAML file; every problem goes to ``fail(key, msg)``."""
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        fail("", f"cannot read: {e.strerror or e}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("", f"not a UTF-8 text file (byte {e.start}: {raw[e.start:e.start + 1]!r})")
    doc = load_yaml_text(text, fail)
    if not isinstance(doc, dict):
        fail("<top>", f"must be a mapping with keys {', '.join(top_keys)}, got {type(doc).__name__}")
    return doc
