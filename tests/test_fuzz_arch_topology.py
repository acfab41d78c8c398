"""Fuzzed architecture files and topology CSVs: a random corruption is an ArchError / TopologyError (a ValueError)
whose message names the file (and, for architectures, the key path it broke), never another exception; a
corruption that leaves a valid file loads. Property-based with Hypothesis."""
from __future__ import annotations

import copy
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.hw.arch import ArchError, find_arch, load_arch
from neurosim.importers import TopologyError, read_topology
from neurosim.schema.workload import WORKLOAD_DIR

FUZZ = settings(max_examples=int(os.environ.get("NEUROSIM_FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], database=None)
ARCHS = ("gxnor", "gxnor_skip", "bwn_offchip", "crossbar_dst", "crossbar_training_itself", "crossbar_binary")
BASES = {a: yaml.safe_load(find_arch(a).read_text()) for a in ARCHS}
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                 st.text(max_size=8), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4),
                                                                                           st.integers(), max_size=2))


def _paths(node, prefix=()):
    """Every (path, value) of a parsed YAML document."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _set(doc, path, value):
    node = doc
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


def _del(doc, path):
    node = doc
    for k in path[:-1]:
        node = node[k]
    del node[path[-1]]


def _key_path(path) -> str:
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


@FUZZ
@given(arch=st.sampled_from(ARCHS), data=st.data(), op=st.sampled_from(["set", "delete", "add"]))
def test_a_corrupted_architecture_is_refused_naming_the_file_or_loads(tmp_path_factory, arch, data, op):
    doc = copy.deepcopy(BASES[arch])
    paths = [p for p, _ in _paths(doc) if p]
    path = data.draw(st.sampled_from(paths))
    if op == "set":
        _set(doc, path, data.draw(JUNK))
    elif op == "delete":
        _del(doc, path)
    else:
        parent = data.draw(st.sampled_from([p for p, v in _paths(doc) if isinstance(v, dict)]))
        node = doc
        for k in parent:
            node = node[k]
        node[data.draw(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10))] = data.draw(JUNK)
    f = tmp_path_factory.mktemp("arch") / f"fuzz_{arch}.yaml"
    f.write_text(yaml.safe_dump(doc, sort_keys=False))
    try:
        a = load_arch(f)
    except ArchError as e:
        msg = str(e)
        assert msg.startswith(str(f)) and "\n" not in msg, msg
        return
    assert a.name and a.components  # a corruption that left a valid file (e.g. a description changed)


@FUZZ
@given(data=st.data())
def test_a_corrupted_topology_is_refused_naming_the_file_or_reads(tmp_path_factory, data):
    base = (WORKLOAD_DIR / "scalesim_lenet.csv").read_text().splitlines()
    rows = [r.split(",") for r in base]
    r = data.draw(st.integers(0, len(rows) - 1))
    c = data.draw(st.integers(0, max(len(rows[r]) - 1, 0)))
    action = data.draw(st.sampled_from(["cell", "drop_row", "drop_cell", "dup_row", "bytes"]))
    if action == "cell" and rows[r]:
        rows[r][c] = data.draw(st.sampled_from(["", "-1", "0", "abc", "1e9", "3.5", "99999999", " "]))
    elif action == "drop_row":
        rows.pop(r)
    elif action == "drop_cell" and rows[r]:
        rows[r].pop(c)
    elif action == "dup_row":
        rows.insert(r, list(rows[r]))
    f = tmp_path_factory.mktemp("topo") / "fuzz.csv"
    text = "\n".join(",".join(x) for x in rows) + "\n"
    if action == "bytes":
        f.write_bytes(text.encode()[:r * 7] + data.draw(st.sampled_from([b"\xff", b"\x00", b"\xc3("])) +
                      text.encode()[r * 7:])
    else:
        f.write_text(text)
    try:
        layers = read_topology(f)
    except TopologyError as e:
        assert str(f) in str(e) and "\n" not in str(e), str(e)
        return
    assert all(min(l.out_shape) >= 1 for l in layers)  # what it read is a network that runs


@pytest.mark.parametrize("arch", ARCHS)
def test_the_fuzzed_bases_are_valid(arch):
    load_arch(arch)
