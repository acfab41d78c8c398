"""Tests for neurosim.data: strict IDX/CIFAR readers, split specs, data-folder resolution and the verified fetcher."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from neurosim import data
from neurosim.data import DataError, fetch_dataset, load_dataset, load_idx_pair, read_idx, resolve_data_dir
from neurosim.testing.datasets import dataset_root

MNIST_T10K_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(a: np.ndarray) -> bytes:
    """Serialize an array in IDX format (big-endian), the inverse of read_idx."""
    head = bytes([0, 0, IDX_CODES[a.dtype.type], a.ndim]) + np.asarray(a.shape, ">u4").tobytes()
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


def write(path: Path, payload: bytes) -> Path:
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)
    return path


def write_idx_dataset(folder: Path, n_train: int = 12, n_test: int = 6, seed: int = 0) -> Path:
    """Tiny MNIST-shaped IDX set: image i of a pool is filled with value i, labels i % 10."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, n in (("train", n_train), ("t10k", n_test)):
        x = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None], (n, 28, 28)).copy()
        write(folder / f"{stem}-images-idx3-ubyte.gz", idx_bytes(x))
        write(folder / f"{stem}-labels-idx1-ubyte.gz", idx_bytes((np.arange(n) % 10).astype(np.uint8)))
    return folder


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test may see the user's cache or data folder unless it sets them itself."""
    monkeypatch.setenv("NEUROSIM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NEUROSIM_DATA", raising=False)


# ---------------------------------------------------------------- read_idx

@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_round_trip(tmp_path, suffix, dtype):
    a = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(dtype) * (1.5 if dtype in (np.float32, np.float64) else 1)
    a = a.astype(dtype)
    got = read_idx(write(tmp_path / f"a.idx{suffix}", idx_bytes(a)))
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, a)


def test_read_idx_1d(tmp_path):
    a = np.array([3, 1, 4, 1, 5], np.uint8)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "l.gz", idx_bytes(a))), a)


def _good() -> bytes:
    return idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("payload, needle", [
    (_good()[:-1], "truncated"),                                   # payload one byte short
    (_good()[:9], "truncated IDX header"),                         # dims cut off
    (_good()[:2], "magic"),                                        # shorter than the magic
    (_good() + b"\0", "trailing"),                                 # garbage after the payload
    (b"\x01" + _good()[1:], "magic"),                              # bad magic
    (_good()[:2] + b"\x0a" + _good()[3:], "dtype code 0x0A"),      # unsupported dtype
    (_good()[:3] + b"\x02" + _good()[4:], "need"),                 # wrong ndim -> size mismatch
    (_good()[:3] + b"\x00" + _good()[4:], "ndim"),                 # ndim 0
    (_good()[:4] + np.array([3], ">u4").tobytes() + _good()[8:], "need 36 bytes"),  # wrong dim
])
def test_read_idx_rejects_bad_files(tmp_path, suffix, payload, needle):
    path = write(tmp_path / f"bad-file.idx{suffix}", payload)
    with pytest.raises(DataError, match=needle) as e:
        read_idx(path)
    assert "bad-file.idx" in str(e.value)


def test_read_idx_corrupt_gzip(tmp_path):
    blob = gzip.compress(_good())
    for i, bad in enumerate([blob[:-6], blob[:10] + bytes(len(blob) - 10), blob[:-8] + b"\xff" * 8]):
        path = write(tmp_path / f"corrupt{i}.gz", b"")
        path.write_bytes(bad)
        with pytest.raises(DataError, match=f"corrupt{i}.gz.*gzip"):
            read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.idx"):
        read_idx(tmp_path / "nope.idx")


# ---------------------------------------------------------------- load_idx_pair

def test_load_idx_pair(tmp_path):
    x = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    img = write(tmp_path / "img.gz", idx_bytes(x))
    lab = write(tmp_path / "lab.gz", idx_bytes(np.array([7, 0, 9], np.uint8)))
    gx, gy = load_idx_pair(img, lab)
    np.testing.assert_array_equal(gx, x)
    assert gy.dtype == np.int64 and gy.tolist() == [7, 0, 9]

    short = write(tmp_path / "short.gz", idx_bytes(np.array([1, 2], np.uint8)))
    with pytest.raises(DataError, match=r"img\.gz has 3 images.*short\.gz has 2 labels"):
        load_idx_pair(img, short)
    flat = write(tmp_path / "flat.gz", idx_bytes(np.zeros((3, 1), np.uint8)))
    with pytest.raises(DataError, match=r"flat\.gz.*1-D"):
        load_idx_pair(img, flat)
    with pytest.raises(DataError, match=r"lab\.gz.*3-D"):
        load_idx_pair(lab, lab)


# ---------------------------------------------------------------- real MNIST t10k

def _shared_root() -> Path:
    return dataset_root()


SHARED = _shared_root()
needs_mnist = pytest.mark.skipif(not (SHARED / "mnist" / "t10k-images-idx3-ubyte.gz").is_file(),
                                 reason="real MNIST t10k files not found (set NEUROSIM_DATA)")


@needs_mnist
def test_real_mnist_t10k(monkeypatch):
    monkeypatch.setenv("NEUROSIM_DATA", str(SHARED))
    assert resolve_data_dir("mnist", None) == SHARED / "mnist"
    spec = {"name": "mnist", "files": "test", "train": [0, 7000], "validation": [7000, 8000], "test": [8000, 10000]}
    ds = load_dataset(spec)
    assert ds.input_shape == (28, 28, 1) and ds.num_classes == 10
    assert [len(ds.x_train), len(ds.x_val), len(ds.x_test)] == [7000, 1000, 2000]
    for x in (ds.x_train, ds.x_val, ds.x_test):
        assert x.dtype == np.float32 and x.min() == -1.0 and x.max() == 1.0

    raw_x, raw_y = load_idx_pair(SHARED / "mnist" / "t10k-images-idx3-ubyte.gz",
                                 SHARED / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert raw_x.shape == (10000, 28, 28) and raw_x.dtype == np.uint8
    assert np.bincount(raw_y, minlength=10).tolist() == MNIST_T10K_COUNTS
    y_all = np.concatenate([ds.y_train, ds.y_val, ds.y_test])
    np.testing.assert_array_equal(y_all, raw_y)
    x_all = np.concatenate([ds.x_train, ds.x_val, ds.x_test])[..., 0]
    np.testing.assert_array_equal(np.rint((x_all + 1) * 127.5).astype(np.uint8), raw_x)
    np.testing.assert_allclose(ds.x_test[5, ..., 0], raw_x[8005] / 255 * 2 - 1, atol=1e-6)

    with pytest.raises(DataError, match="train-images"):   # train files are not in the shared folder
        load_dataset({"name": "mnist", "train": [0, 10], "test": [10, 20]})


# ---------------------------------------------------------------- digits

DIGITS = {"name": "digits", "train": [0, 1300], "validation": [1300, 1500], "test": [1500, 1797], "shuffle": True}


def test_digits_shapes_range_determinism():
    a, b, c = load_dataset(DIGITS, seed=3), load_dataset(DIGITS, seed=3), load_dataset(DIGITS, seed=4)
    assert a.input_shape == (8, 8, 1) and a.num_classes == 10
    assert (a.x_train.shape, a.x_val.shape, a.x_test.shape) == ((1300, 8, 8, 1), (200, 8, 8, 1), (297, 8, 8, 1))
    assert a.x_train.dtype == np.float32 and a.y_train.dtype == np.int64
    assert a.x_train.min() == -1.0 and a.x_train.max() == 1.0
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)
    # the three splits partition the 1797 images: every image appears exactly once
    from sklearn.datasets import load_digits
    ref = load_digits().images.reshape(1797, -1) / 16 * 2 - 1
    ours = np.concatenate([a.x_train, a.x_val, a.x_test]).reshape(1797, -1)
    np.testing.assert_allclose(np.sort(ours, axis=0), np.sort(ref, axis=0), atol=1e-6)
    keys = {r.tobytes() for r in np.rint((ours + 1) * 8).astype(np.uint8)}
    assert keys == {r.tobytes() for r in load_digits().images.reshape(1797, -1).astype(np.uint8)}


def test_digits_default_shuffles_and_no_shuffle_keeps_order():
    spec = {k: v for k, v in DIGITS.items() if k != "shuffle"}
    from sklearn.datasets import load_digits
    assert not np.array_equal(load_dataset(spec).y_train, load_digits().target[:1300])
    plain = load_dataset({**spec, "shuffle": False, "validation": None})
    np.testing.assert_array_equal(plain.y_test, load_digits().target[1500:])
    assert plain.x_val.shape == (0, 8, 8, 1) and plain.y_val.shape == (0,)


# ---------------------------------------------------------------- bad specs

@pytest.mark.parametrize("patch, needle", [
    ({"name": "imagenet"}, r"dataset\.name 'imagenet'.*allowed: mnist, fashion-mnist, digits, cifar10"),
    ({"epochs": 3}, r"unknown key.*epochs.*allowed: name"),
    ({"test": [1500, 1800]}, r"dataset\.test \[1500, 1800\] out of bounds.*1797 images.*stop <= 1797"),
    ({"train": [10, 10]}, r"dataset\.train: got \[10, 10\].*0 <= start < stop"),
    ({"train": [-1, 10]}, r"dataset\.train: got"),
    ({"test": [0.5, 9]}, r"dataset\.test: got"),
    ({"test": "all"}, r"dataset\.test: got"),
    ({"test": None}, r"dataset\.test is required"),
    ({"validation": [1200, 1400]}, r"dataset\.train \[0, 1300\] and dataset\.validation \[1200, 1400\] overlap"),
    ({"files": "test"}, r"dataset\.files 'test'.*allowed for digits: train"),
    ({"test": {"files": "train", "range": [1500, 1797], "step": 2}}, r"dataset\.test: mapping keys.*allowed: files"),
    ({"shuffle": "yes"}, r"dataset\.shuffle"),
])
def test_bad_specs(patch, needle):
    with pytest.raises(DataError, match=needle) as e:
        load_dataset({**DIGITS, **patch}, source="wl.yaml")
    assert str(e.value).startswith("wl.yaml")


def test_spec_must_be_mapping():
    with pytest.raises(DataError, match="mapping"):
        load_dataset(["mnist"])


# ---------------------------------------------------------------- IDX specs on fixture files, resolution

def test_idx_splits_exact_indices_and_cross_pool(tmp_path):
    folder = write_idx_dataset(tmp_path / "root" / "mnist")
    spec = {"name": "mnist", "files": "train", "train": [0, 8], "validation": [8, 12],
            "test": {"files": "test", "range": [2, 6]}}
    ds = load_dataset(spec, data_dir=tmp_path / "root")
    assert ds.y_train.tolist() == list(range(8)) and ds.y_val.tolist() == [8, 9, 0, 1]
    assert ds.y_test.tolist() == [2, 3, 4, 5]
    np.testing.assert_allclose(ds.x_test[:, 0, 0, 0], np.arange(2, 6) / 255 * 2 - 1, atol=1e-7)
    shuffled = load_dataset({**spec, "shuffle": True}, data_dir=folder, seed=1)
    perm = np.random.default_rng(1).permutation(12)
    assert shuffled.y_train.tolist() == (perm[:8] % 10).tolist()
    # the same range in different pools is not an overlap; in the same pool it is
    load_dataset({**spec, "test": {"files": "test", "range": [0, 6]}, "validation": None}, data_dir=folder)
    with pytest.raises(DataError, match=r"dataset\.train \[0, 8\] and dataset\.test \[5, 6\] overlap in the train"):
        load_dataset({**spec, "test": [5, 6]}, data_dir=folder)
    with pytest.raises(DataError, match=r"dataset\.validation \[8, 13\].*12 images"):
        load_dataset({**spec, "validation": [8, 13]}, data_dir=folder)


def test_idx_bad_labels_and_shapes(tmp_path):
    folder = write_idx_dataset(tmp_path / "mnist")
    write(folder / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.array([0, 1, 2, 3, 4, 10], np.uint8)))
    spec = {"name": "mnist", "files": "test", "train": [0, 3], "test": [3, 6]}
    with pytest.raises(DataError, match=r"t10k-labels.*label 10 out of range.*0\.\.9"):  # the labels file
        load_dataset(spec, data_dir=folder)
    write(folder / "t10k-images-idx3-ubyte.gz", idx_bytes(np.zeros((6, 14, 14), np.uint8)))
    with pytest.raises(DataError, match=r"t10k-images.*\(28, 28\)"):
        load_dataset(spec, data_dir=folder)


def test_resolve_data_dir_order_and_error(tmp_path, monkeypatch):
    root = tmp_path / "root"
    folder = write_idx_dataset(root / "mnist")
    (folder / "train-images-idx3-ubyte.gz").rename(folder / "train-images-idx3-ubyte")  # raw twin also found
    assert resolve_data_dir("mnist", folder) == folder
    assert resolve_data_dir("mnist", root) == folder
    cache = tmp_path / "cache"
    write_idx_dataset(cache / "mnist")
    assert resolve_data_dir("mnist", None) == cache / "mnist"
    monkeypatch.setenv("NEUROSIM_DATA", str(root))
    assert resolve_data_dir("mnist", None) == folder
    monkeypatch.setenv("NEUROSIM_DATA", str(tmp_path / "empty"))
    assert resolve_data_dir("mnist", None) == cache / "mnist"   # env without the files falls through to cache
    with pytest.raises(DataError) as e:
        resolve_data_dir("fashion-mnist", tmp_path / "nowhere")
    msg = str(e.value)
    assert "neurosim data fetch fashion-mnist" in msg and "NEUROSIM_DATA" in msg and "--data" in msg
    assert str(tmp_path / "nowhere" / "fashion-mnist") in msg
    with pytest.raises(DataError, match="cifar-10-binary"):
        resolve_data_dir("cifar10", None)
    with pytest.raises(DataError, match="unknown dataset 'svhn'"):
        resolve_data_dir("svhn", None)


# ---------------------------------------------------------------- cifar10 binary

def test_cifar10_binary(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "c" / "cifar10" / "cifar-10-batches-bin"   # as extracted from the tarball
    folder.mkdir(parents=True)
    chw, labels = {}, {}
    for i, fname in enumerate([*data._CIFAR_TRAIN, "test_batch.bin"]):
        chw[fname] = rng.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8)
        labels[fname] = np.array([i % 10, (i + 3) % 10], np.uint8)
        rec = np.concatenate([labels[fname][:, None], chw[fname].reshape(2, -1)], axis=1)
        (folder / fname).write_bytes(rec.tobytes())
    spec = {"name": "cifar10", "train": [0, 8], "validation": [8, 10], "test": {"files": "test", "range": [0, 2]}}
    ds = load_dataset(spec, data_dir=tmp_path / "c")
    assert ds.input_shape == (32, 32, 3) and ds.x_train.shape == (8, 32, 32, 3)
    train_chw = np.concatenate([chw[f] for f in data._CIFAR_TRAIN])
    np.testing.assert_array_equal(ds.y_train, np.concatenate([labels[f] for f in data._CIFAR_TRAIN])[:8])
    expect = train_chw.transpose(0, 2, 3, 1).astype(np.float32) / 255 * 2 - 1
    np.testing.assert_allclose(ds.x_val, expect[8:10], atol=1e-6)
    assert ds.x_train[1, 4, 7, 2] == pytest.approx(train_chw[1, 2, 4, 7] / 255 * 2 - 1, abs=1e-6)
    np.testing.assert_array_equal(ds.y_test, labels["test_batch.bin"])

    (folder / "data_batch_3.bin").write_bytes(b"\0" * 3000)
    with pytest.raises(DataError, match=r"data_batch_3\.bin.*multiple of 3073"):
        load_dataset(spec, data_dir=tmp_path / "c")


# ---------------------------------------------------------------- fetch_dataset over real HTTP

class _Mirror:
    """A ThreadingHTTPServer on 127.0.0.1 serving a folder and counting GET requests."""

    def __init__(self, folder: Path):
        self.hits: list[str] = []
        mirror = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                mirror.hits.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      functools.partial(Handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def mirrors(tmp_path, monkeypatch):
    """Two mirrors: `good` holds a valid fixture set, `bad` the same names with corrupted bytes."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    good = write_idx_dataset(tmp_path / "srv_good")
    bad = tmp_path / "srv_bad"
    bad.mkdir()
    table = {}
    for i, p in enumerate(sorted(good.iterdir())):
        algo = "md5" if i % 2 else "sha256"     # exercise both algorithms
        table[p.name] = (algo, hashlib.new(algo, p.read_bytes()).hexdigest())
        blob = bytearray(p.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        (bad / p.name).write_bytes(bytes(blob))
    servers = {"good": _Mirror(good), "bad": _Mirror(bad)}
    try:
        yield servers, table
    finally:
        for s in servers.values():
            s.close()


def test_fetch_downloads_verifies_and_caches(tmp_path, mirrors):
    servers, table = mirrors
    dest = fetch_dataset("mnist", tmp_path / "dl", mirrors=[servers["good"].url], files=table, progress=False)
    assert dest == tmp_path / "dl"
    assert sorted(p.name for p in dest.iterdir()) == sorted(table)
    assert len(servers["good"].hits) == 4
    fetch_dataset("mnist", dest, mirrors=[servers["good"].url], files=table, progress=False)
    assert len(servers["good"].hits) == 4                      # nothing downloaded again
    ds = load_dataset({"name": "mnist", "train": [0, 12], "test": {"files": "test", "range": [0, 6]}}, data_dir=dest)
    assert ds.y_test.tolist() == [0, 1, 2, 3, 4, 5]
    (dest / "t10k-labels-idx1-ubyte.gz").write_bytes(b"junk")  # a damaged cached file is replaced
    fetch_dataset("mnist", dest, mirrors=[servers["good"].url], files=table, progress=False)
    assert servers["good"].hits[4:] == ["/t10k-labels-idx1-ubyte.gz"]


def test_fetch_default_cache_dir(tmp_path, mirrors):
    servers, table = mirrors
    dest = fetch_dataset("fashion-mnist", mirrors=[servers["good"].url], files=table, progress=False)
    assert dest == tmp_path / "cache" / "fashion-mnist"        # $NEUROSIM_CACHE/<name>
    assert resolve_data_dir("fashion-mnist", None) == dest


def test_fetch_falls_back_to_second_mirror(tmp_path, mirrors):
    servers, table = mirrors
    dest = fetch_dataset("mnist", tmp_path / "dl", mirrors=[servers["bad"].url, servers["good"].url],
                         files=table, progress=False)
    assert len(servers["bad"].hits) == 4 and len(servers["good"].hits) == 4
    for name, (algo, want) in table.items():
        assert hashlib.new(algo, (dest / name).read_bytes()).hexdigest() == want
    assert not [p for p in dest.iterdir() if p.name not in table]  # no temp files left


def test_fetch_all_mirrors_bad_leaves_nothing(tmp_path, mirrors):
    servers, table = mirrors
    dead = "http://127.0.0.1:9/"   # discard port: connection refused
    dest = tmp_path / "dl"
    with pytest.raises(DataError) as e:
        fetch_dataset("mnist", dest, mirrors=[servers["bad"].url, dead], files=table, progress=False, timeout=5)
    first = sorted(table)[0]
    algo, want = table[first]
    msg = str(e.value)
    assert first in msg and want in msg and "mismatch" in msg and "got" in msg and "127.0.0.1:9" in msg
    assert list(dest.iterdir()) == []                           # no partial or temp file
    with pytest.raises(DataError, match=r"images-idx3.*404"):
        fetch_dataset("mnist", dest, mirrors=[servers["good"].url], progress=False,
                      files={"t10k-images-idx3-ubyte.gz": table["t10k-images-idx3-ubyte.gz"],
                             "missing-images-idx3-ubyte.gz": ("sha256", "0" * 64)})
    assert [p.name for p in dest.iterdir()] == ["t10k-images-idx3-ubyte.gz"]


def test_fetch_rejects_undownloadable_and_bad_tables(tmp_path):
    with pytest.raises(DataError, match="cifar10.*cannot be downloaded"):
        fetch_dataset("cifar10", tmp_path)
    with pytest.raises(DataError, match="checksum.*allowed"):
        fetch_dataset("mnist", tmp_path, mirrors=["http://127.0.0.1:9/"], files={"a.gz": ("crc32", "00")})


def test_published_checksum_table():
    for name in ("mnist", "fashion-mnist"):
        info = data.DATASETS[name]
        assert len(info.files) == 4 and info.mirrors
        assert all(algo == "sha256" and len(h) == 64 for algo, h in info.files.values())
    if (SHARED / "mnist").is_dir():   # the shipped MNIST t10k sums match the real files
        for fname in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
            algo, want = data.DATASETS["mnist"].files[fname]
            assert hashlib.new(algo, (SHARED / "mnist" / fname).read_bytes()).hexdigest() == want


@needs_mnist
def test_cli_fetch_uses_the_published_checksums(tmp_path, monkeypatch):
    """`neurosim data fetch mnist` against a local mirror holding only the real t10k files: both are verified
    with the published sha256 and kept; the missing train files fail clearly (exit 2), nothing half-written."""
    real = SHARED / "mnist"
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    srv = tmp_path / "srv"
    srv.mkdir()
    for f in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (srv / f).write_bytes((real / f).read_bytes())
    mirror = _Mirror(srv)
    try:
        from neurosim.cli import main

        code = main(["data", "fetch", "mnist", "--cache", str(tmp_path / "cache"), "--mirror", mirror.url])
    finally:
        mirror.close()
    assert code == 2
    got = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert "t10k-images-idx3-ubyte.gz" in got and "t10k-labels-idx1-ubyte.gz" in got
    assert not any(n.endswith(".tmp") or n.startswith("train") for n in got)


def test_data_errors_name_the_workload_file(tmp_path):
    """Missing or damaged data files: the message names the workload that asked for them, then the data file."""
    spec = {"name": "mnist", "files": "test", "train": [0, 3], "test": [3, 6]}
    with pytest.raises(DataError, match=r"^wl\.yaml: dataset\.name: dataset 'mnist': files not found"):
        load_dataset(spec, data_dir=tmp_path / "nowhere", source="wl.yaml")
    folder = write_idx_dataset(tmp_path / "mnist")
    write(folder / "t10k-labels-idx1-ubyte.gz", b"damaged")
    with pytest.raises(DataError, match=r"^wl\.yaml: dataset: .*t10k-labels-idx1-ubyte\.gz: not an IDX file"):
        load_dataset(spec, data_dir=folder, source="wl.yaml")
