"""Fuzzed inputs: every damaged workload, model or checkpoint is a clear error naming the file and the culprit.

Property-based (Hypothesis): random corruptions of the digits workload YAML, of a saved ``model.npz`` and of a
``checkpoint.npz`` either raise a ValueError subclass whose message names the file and the key or array at
fault, or (for byte damage that does not touch the data, e.g. a flipped timestamp) load exactly what was saved.
A few of them go through the command line: exit 2, one ``neurosim: error:`` line, nothing left behind.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neurosim import cli
from neurosim.core.counting import CountingObserver
from neurosim.core.dst import TAU_MODES
from neurosim.core.losses import LOSSES
from neurosim.core.methods import METHODS
from neurosim.core.network import ModelFileError, read_model_file, read_npz
from neurosim.core.optim import OPTIMIZERS
from neurosim.core.quant import ACTIVATIONS, WINDOWS
from neurosim.core.train import load_checkpoint, train
from neurosim.pipeline import Overrides, prepare, train_and_report
from neurosim.schema.workload import WORKLOAD_DIR, WorkloadError, load_workload
from neurosim.schema.yaml_io import StrictLoader

BASE_FILE = WORKLOAD_DIR / "digits_mlp.yaml"
BASE = yaml.safe_load(BASE_FILE.read_text())
# NEUROSIM_FUZZ_EXAMPLES=2000 for a deeper run; the default keeps the file well under a minute
FUZZ = settings(max_examples=int(os.environ.get("NEUROSIM_FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow], database=None)
_ids = itertools.count()


class _Dumper(yaml.SafeDumper):
    """Quotes every string the strict loader would read as something else (``'1e-3'`` stays a string)."""


_Dumper.yaml_implicit_resolvers = {k: list(v) for k, v in StrictLoader.yaml_implicit_resolvers.items()}


def _dump(raw: dict) -> str:
    return yaml.dump(raw, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False, width=10**6)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _fresh(folder: Path, suffix: str) -> Path:
    """A new file name per example (Hypothesis runs many in one test)."""
    return folder / f"case{next(_ids)}{suffix}"


# ---------------------------------------------------------------------------------------------- workloads
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8)
NOT_A_NUMBER = st.one_of(TEXT, st.booleans(), st.none(), st.lists(st.integers(), max_size=2),
                         st.dictionaries(st.sampled_from("ab"), st.integers(), max_size=1))
NOT_AN_INT = st.one_of(NOT_A_NUMBER, st.floats())
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
NOT_POSITIVE = st.one_of(st.floats(max_value=0.0, allow_nan=False), st.integers(max_value=0), NON_FINITE)
PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


def _not_in(choices) -> st.SearchStrategy:
    return st.one_of(TEXT.filter(lambda s: s not in choices), st.integers(), st.booleans(), st.floats())


# key path -> strategy of values that must be refused *at that key* (the rest of digits_mlp stays valid)
BAD_VALUES: dict[str, st.SearchStrategy] = {
    **{k: st.one_of(NOT_A_NUMBER, NOT_POSITIVE) for k in
       ("dst.m", "dst.L", "activation.a", "activation.H", "train.lr_start", "train.lr_fin")},
    "activation.r": st.one_of(NOT_A_NUMBER, NON_FINITE, st.floats(max_value=-1e-9, allow_nan=False),
                              st.floats(min_value=1.0, allow_infinity=False), st.integers(min_value=1)),
    **{k: st.one_of(NOT_AN_INT, st.integers(max_value=0)) for k in ("train.epochs", "train.batch",
                                                                        "train.eval_batch")},
    "dst.tau": _not_in(TAU_MODES), "activation.window": _not_in(tuple(WINDOWS)), "method": _not_in(METHODS),
    "train.optimizer": _not_in(OPTIMIZERS), "loss": _not_in(LOSSES).filter(lambda v: v is not None),
    # digits_mlp is gxnor: ternary activations, N = 1
    "activation.kind": st.one_of(st.sampled_from([k for k in ACTIVATIONS if k != "ternary"]), _not_in(ACTIVATIONS)),
    "N": st.one_of(st.integers().filter(lambda n: n != 1), NOT_AN_INT.filter(lambda v: v is not None)),
    "batch_norm": st.one_of(TEXT, st.integers(), st.floats(), st.none(), st.sampled_from(["false", "true", "no"])),
    "seed": st.one_of(st.integers(max_value=-1), st.integers(min_value=2**63), NOT_AN_INT),
    "name": st.one_of(st.sampled_from(["../../escaped", "a/b", "..", ".hidden", "", "x" * 101, "ok\n"]),
                      TEXT.filter(lambda s: not PLAIN.fullmatch(s) or ".." in s), st.integers(), st.booleans()),
    "network": st.one_of(st.integers(), st.booleans(), st.none(), st.lists(st.integers(), max_size=2),
                         st.sampled_from(["64-32C-10", "", "SVM-10", "64--10", "2x(32C5-10"])),
}


def _set(raw: dict, path: str, value) -> dict:
    """A deep copy of ``raw`` with ``path`` (dotted) set to ``value``."""
    out = json.loads(json.dumps(raw))
    *parents, last = path.split(".")
    node = out
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return out


def _raises_naming(path: Path, key: str) -> str:
    with pytest.raises(WorkloadError) as e:
        load_workload(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: "), msg
    assert f"{path}: {key}:" in msg or f"'{key}'" in msg, (key, msg)
    return msg


def test_the_base_workload_is_valid():
    assert load_workload(BASE_FILE).name == "digits_mlp"


@FUZZ
@given(data=st.data(), key=st.sampled_from(sorted(BAD_VALUES)))
def test_a_bad_value_is_refused_at_its_key(folder, data, key):
    value = data.draw(BAD_VALUES[key], label=key)
    path = _fresh(folder, ".yaml")
    path.write_text(_dump(_set(BASE, key, value)))
    _raises_naming(path, key)


@FUZZ
@given(where=st.sampled_from(["", "train.", "dst.", "activation."]),
       key=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=10))
def test_an_unknown_key_is_refused_by_name(folder, where, key):
    known = {"": BASE, "train.": BASE["train"], "dst.": BASE["dst"], "activation.": BASE["activation"]}[where]
    allowed = {"": ("description", "N", "loss", "batch_norm"), "train.": ("eval_batch",), "dst.": ("L",),
               "activation.": ("N2", "H")}[where]
    assume(key not in known and key not in allowed)
    raw = json.loads(json.dumps(BASE))
    (raw[where[:-1]] if where else raw)[key] = 1
    path = _fresh(folder, ".yaml")
    path.write_text(_dump(raw))
    msg = _raises_naming(path, where + key)
    assert "unknown key; allowed:" in msg


@FUZZ
@given(data=st.data())
def test_a_duplicate_key_is_refused_by_name(folder, data):
    lines = _dump(BASE).splitlines()
    leaves = [i for i, l in enumerate(lines) if re.match(r"^\s*[A-Za-z_]+: \S", l)]
    i = data.draw(st.sampled_from(leaves))
    key = lines[i].split(":")[0].strip()
    path = _fresh(folder, ".yaml")
    path.write_text("\n".join(lines[:i + 1] + [lines[i]] + lines[i + 1:]) + "\n")
    msg = _raises_naming(path, key)
    assert f"duplicate key '{key}'" in msg


@FUZZ
@given(at=st.floats(0, 1), junk=st.sampled_from([b"\xff", b"\xfe\xfe", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80"]))
def test_a_non_utf8_file_is_named(folder, at, junk):
    raw = BASE_FILE.read_bytes()
    i = int(at * len(raw))
    path = _fresh(folder, ".yaml")
    path.write_bytes(raw[:i] + junk + raw[i:])
    with pytest.raises(WorkloadError, match="not a UTF-8 text file") as e:
        load_workload(path)
    assert str(e.value).startswith(f"{path}: ")


def test_numbers_in_any_yaml_form_and_ints_for_floats(folder):
    path = folder / "sci.yaml"
    path.write_text(BASE_FILE.read_text().replace("lr_start: 0.02", "lr_start: 1e-3").replace("m: 3}", "m: 3, L: 1}"))
    w = load_workload(path)
    assert w.train["lr_start"] == 1e-3 and w.dst == {"tau": "tanh", "m": 3.0, "L": 1.0}


# ---------------------------------------------------------------------------------------------- saved runs
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One short digits run (1 epoch): its model.npz, checkpoint.npz, and a network to load them into."""
    out = tmp_path_factory.mktemp("saved") / "run"
    train_and_report(prepare("digits_mlp", Overrides(epochs=1)), out, progress=False)
    model, meta = read_model_file(out / "model.npz")
    return _Saved({"out": out, "model": model, "meta": meta, "ck": read_npz(out / "checkpoint.npz"),
                   "p": prepare("digits_mlp", Overrides(epochs=1))})


class _Saved(dict):
    """The saved run (a dict with a short repr, for Hypothesis' failure reports)."""

    def __repr__(self) -> str:
        return f"<saved run in {self['out']}>"


def _array_damage(arrays: dict[str, np.ndarray], prefix: str = "") -> st.SearchStrategy:
    """(damaged arrays, the key the error must name) for one kind of damage to one array of ``prefix``."""
    keys = sorted(k for k in arrays if k.startswith(prefix) and k != "meta")
    states = [k for k in keys if k.endswith(".state")]
    floats = [k for k in keys if arrays[k].dtype.kind == "f" and arrays[k].size]
    variances = [k for k in keys if k.endswith(".running_var")]

    def put(key: str, value) -> tuple[dict, str]:
        return {**arrays, key: value}, key

    def at(key: str, i: int, v) -> tuple[dict, str]:
        a = arrays[key].astype(np.float64 if isinstance(v, float) else np.int64).copy()
        a.flat[i % a.size] = v
        return put(key, a)

    shape = st.builds(lambda k, s: put(k, np.zeros(s, arrays[k].dtype)), st.sampled_from(keys),
                      st.lists(st.integers(0, 4), max_size=3).map(tuple)).filter(
        lambda d: d[0][d[1]].shape != arrays[d[1]].shape)
    dtype = st.builds(lambda k, t: put(k, np.zeros(arrays[k].shape, t)), st.sampled_from(keys),
                      st.sampled_from(["U3", "S2", "bool", "complex64"]))
    kind_swap = st.sampled_from(keys).map(
        lambda k: put(k, arrays[k].astype(np.float32 if arrays[k].dtype.kind in "iu" else np.int16)))
    objects = st.sampled_from(keys).map(lambda k: put(k, np.full(arrays[k].shape, None, object)))
    missing = st.sampled_from(keys).map(lambda k: ({x: v for x, v in arrays.items() if x != k}, k))
    extra = st.text("abcxyz_.0", min_size=1, max_size=6).map(lambda s: put(prefix + "zz_" + s, np.zeros(3)))
    kinds = [shape, dtype, kind_swap, objects, missing, extra]
    if states:
        kinds.append(st.builds(at, st.sampled_from(states), st.integers(0, 10**6),
                               st.integers(-2**40, 2**40).filter(lambda v: not 0 <= v <= 2)))
    if floats:
        kinds.append(st.builds(at, st.sampled_from(floats), st.integers(0, 10**6), NON_FINITE))
    if variances:
        kinds.append(st.builds(at, st.sampled_from(variances), st.integers(0, 10**6),
                               st.floats(max_value=-1e-30, allow_infinity=False)))
    return st.one_of(kinds)


def _byte_damage(raw: bytes) -> st.SearchStrategy:
    """Truncations, random files and bit flips of a saved file's bytes."""
    flips = st.lists(st.integers(0, 8 * len(raw) - 1), min_size=1, max_size=4).map(
        lambda bits: _flip(raw, bits))
    return st.one_of(st.integers(0, len(raw) - 1).map(lambda n: raw[:n]), st.binary(max_size=600), flips)


def _flip(raw: bytes, bits: list[int]) -> bytes:
    b = bytearray(raw)
    for bit in bits:
        b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def _load_model(saved, path: Path) -> None:
    arrays, _ = read_model_file(path)
    saved["p"].net.load_arrays(arrays, str(path))


@FUZZ
@given(data=st.data())
def test_a_damaged_model_array_is_named(saved, folder, data):
    arrays, key = data.draw(_array_damage({**saved["model"], "meta": np.array(json.dumps(saved["meta"]))}))
    path = _fresh(folder, ".npz")
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError) as e:
        _load_model(saved, path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and f"array {key!r}" in msg, msg


@FUZZ
@given(data=st.data())
def test_a_damaged_model_file_is_named_or_loads_unchanged(saved, folder, data):
    raw = (saved["out"] / "model.npz").read_bytes()
    path = _fresh(folder, ".npz")
    path.write_bytes(data.draw(_byte_damage(raw)))
    try:
        arrays, meta = read_model_file(path)
        saved["p"].net.load_arrays(arrays, str(path))
    except ModelFileError as e:
        assert str(e).startswith(f"{path}: "), str(e)
    else:  # the damage missed the data (e.g. a timestamp): what loads is exactly what was saved
        assert _same(arrays, saved["model"]) and meta == saved["meta"]


def test_a_model_without_workload_or_with_pickles_is_named(saved, folder):
    path = folder / "nometa.npz"
    np.savez(path, **saved["model"], meta=np.array(json.dumps({**saved["meta"], "workload": None})))
    with pytest.raises(ModelFileError, match=r"nometa\.npz: meta\.workload: got None"):
        read_model_file(path)
    np.savez(path, **saved["model"])
    with pytest.raises(ModelFileError, match=r"nometa\.npz: array 'meta': missing"):
        read_model_file(path)
    path.write_bytes(b"")
    with pytest.raises(ModelFileError, match=r"nometa\.npz: damaged or not an \.npz"):
        read_model_file(path)


def test_device_arrays_may_be_missing_or_extra(saved):
    """A model trained on ideal devices lacks device_* arrays; one trained on devices deploys on ideal ones."""
    net = saved["p"].net
    extra = {**saved["model"], "fc1.device_gain": np.ones(saved["model"]["fc1.state"].shape)}
    net.load_arrays(extra, "m.npz")
    with pytest.raises(ModelFileError, match=r"array 'nolayer\.device_gain': unexpected"):
        net.load_arrays({**saved["model"], "nolayer.device_gain": np.ones(3)}, "m.npz")


def _resume(saved, path: Path) -> None:
    p = saved["p"]
    train(p.net, p.data, p.cfg, observer=CountingObserver(), checkpoint=path, resume=True, progress=False)


@FUZZ
@given(data=st.data(), part=st.sampled_from(["model.", "best.", "optim."]))
def test_a_damaged_checkpoint_array_is_named(saved, folder, data, part):
    arrays, key = data.draw(_array_damage(saved["ck"], part))
    path = _fresh(folder, ".npz")
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError) as e:
        _resume(saved, path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and (f"array {key!r}" in msg or "array 'best.*'" in msg), msg


@FUZZ
@given(data=st.data())
def test_a_damaged_checkpoint_file_is_named_or_resumes_unchanged(saved, folder, data):
    raw = (saved["out"] / "checkpoint.npz").read_bytes()
    path = _fresh(folder, ".npz")
    path.write_bytes(data.draw(_byte_damage(raw)))
    try:
        ck = load_checkpoint(path)
    except ModelFileError as e:
        assert str(e).startswith(f"{path}: "), str(e)
        return
    flat = {f"{h}.{k}": v for h in ("model", "optim", "best", "observer") for k, v in ck[h].items()}
    assert _same(flat, {k: v for k, v in saved["ck"].items() if k != "meta"})


@FUZZ
@given(key=st.sampled_from(["epoch", "best_epoch", "best_val", "history", "train_seconds", "samples_trained",
                            "config"]),
       value=st.one_of(st.none(), TEXT, st.booleans(), st.lists(st.integers(), max_size=2), NON_FINITE,
                       st.integers(-3, -1)))
def test_damaged_checkpoint_meta_is_named(saved, folder, key, value):
    meta = json.loads(str(saved["ck"]["meta"]))
    assume(not (key == "best_epoch" and value == -1))  # -1: no epoch selected yet, a valid value
    assume(not (key == "best_val" and type(value) is int))  # -1.0 when there is no validation split
    path = _fresh(folder, ".npz")
    np.savez(path, **{**saved["ck"], "meta": np.array(json.dumps({**meta, key: value}))})
    with pytest.raises(ModelFileError, match=r"meta\.") as e:
        _resume(saved, path)
    assert str(e.value).startswith(f"{path}: ")


def test_damaged_observer_state_is_named(saved, folder):
    count = next(k for k in saved["ck"] if k.startswith("observer.count.") and saved["ck"][k].dtype.kind == "i")
    for value in (np.array(-5), np.array(np.nan)):
        path = _fresh(folder, ".npz")
        np.savez(path, **{**saved["ck"], count: value})
        with pytest.raises(ModelFileError, match=re.escape(f"array {count!r}")):
            _resume(saved, path)


def test_resume_needs_the_same_run(saved, folder):
    p = prepare("digits_mlp", Overrides(epochs=2, batch=20))
    with pytest.raises(ModelFileError, match=r"meta\.config\.batch: the checkpoint's run has 50, this run 20"):
        train(p.net, p.data, p.cfg, checkpoint=saved["out"] / "checkpoint.npz", resume=True, progress=False)


# ---------------------------------------------------------------------------------------------- the CLI
def _main(capsys, *args) -> tuple[int, str]:
    code = cli.main([*args])
    err = capsys.readouterr().err.strip()
    return code, err


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("neurosim: error: "), err
    return lines[0]


@pytest.mark.parametrize("edit,key", [
    (lambda t: t.replace("m: 3}", "m: three}"), "dst.m"),
    (lambda t: t + "batch_norm: 'false'\n", "batch_norm"),
    (lambda t: t.replace("name: digits_mlp", "name: ../../escaped"), "name"),
    (lambda t: t + "seed: 1\n", "seed"),
    (lambda t: t.replace("r: 0.5", "r: '0.5'"), "activation.r"),
])
def test_cli_bad_workload_exits_2_and_leaves_nothing(tmp_path, capsys, edit, key):
    path = tmp_path / "w.yaml"
    path.write_text(edit(BASE_FILE.read_text()))
    out = tmp_path / "out"
    code, err = _main(capsys, "train", str(path), "--epochs", "1", "--quiet", "--out", str(out))
    line = _one_error_line(err)
    assert code == 2 and str(path) in line and key in line, line
    assert not out.exists()


def test_cli_non_utf8_workload_exits_2(tmp_path, capsys):
    path = tmp_path / "w.yaml"
    path.write_bytes(BASE_FILE.read_bytes() + b"\xff\n")
    out = tmp_path / "out"
    code, err = _main(capsys, "train", str(path), "--quiet", "--out", str(out))
    assert code == 2 and f"{path}: not a UTF-8 text file" in _one_error_line(err) and not out.exists()


def _damaged_model(saved, tmp_path: Path, key: str, value: np.ndarray) -> Path:
    path = tmp_path / "model.npz"
    np.savez(path, **{**saved["model"], key: value}, meta=np.array(json.dumps(saved["meta"])))
    return path


@pytest.mark.parametrize("key,damage,what", [
    ("fc1.state", lambda a: a[:1], "shape (1, 256), expected (64, 256)"),
    ("fc2.state", lambda a: np.full(a.shape, 7), "value 7 at index (0, 0) out of range; allowed: 0..2"),
    ("bn1.gamma", lambda a: np.where(np.arange(a.size) == 3, np.nan, a), "is not a finite float32"),
    ("bn2.running_var", lambda a: -a, "out of range; allowed: 0.0 or more"),
    ("out.state", lambda a: a.astype(str), "dtype <U"),
])
def test_cli_damaged_model_exits_2_and_leaves_nothing(saved, tmp_path, capsys, key, damage, what):
    model = _damaged_model(saved, tmp_path, key, damage(saved["model"][key]))
    out = tmp_path / "out"
    code, err = _main(capsys, "simulate", str(model), "--out", str(out))
    line = _one_error_line(err)
    assert code == 2 and f"{model}: array {key!r}: " in line and what in line, line
    assert not out.exists()


def test_cli_truncated_model_exits_2(saved, tmp_path, capsys):
    model = tmp_path / "model.npz"
    model.write_bytes((saved["out"] / "model.npz").read_bytes()[:100])
    out = tmp_path / "out"
    code, err = _main(capsys, "simulate", str(model), "--out", str(out))
    assert code == 2 and str(model) in _one_error_line(err) and not out.exists()


@pytest.mark.parametrize("damage", ["truncate", "state"])
def test_cli_damaged_checkpoint_exits_2_and_keeps_the_run(saved, tmp_path, capsys, damage):
    out = tmp_path / "run"
    shutil.copytree(saved["out"], out)
    for f in out.iterdir():  # a run killed after its last checkpoint: the report is still to be written
        if f.name != "checkpoint.npz":
            f.unlink()
    ck = out / "checkpoint.npz"
    if damage == "truncate":
        ck.write_bytes(ck.read_bytes()[:-50])
    else:
        np.savez(ck, **{**saved["ck"], "model.fc2.state": saved["ck"]["model.fc2.state"] - 3})
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    code, err = _main(capsys, "train", "--epochs", "1", "--quiet", "--out", str(out), "--resume")
    line = _one_error_line(err)
    assert code == 2 and f"{ck}: " in line, line
    if damage == "state":
        assert "array 'model.fc2.state': value -" in line and "out of range; allowed: 0..2" in line, line
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before  # nothing lost, nothing half-written
