"""Datasets for workloads: strict IDX / CIFAR-10-binary readers, YAML split specs, and a verified downloader.

Everything that can go wrong with user-supplied data raises DataError with a message naming the file or key,
the field and what is allowed, so a bad download or a typo in a workload never turns into silent garbage.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import tempfile
import urllib.request
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DATASETS", "DataError", "Dataset", "DatasetInfo", "fetch_dataset", "load_dataset", "load_idx_pair",
           "read_cifar10", "read_idx", "resolve_data_dir"]


class DataError(ValueError):
    """Bad or missing data input; the message names the file or key, the field and what is allowed."""


@dataclass
class Dataset:
    """Train/validation/test arrays ready for training: x float32 NHWC in [-1, 1], y int64 class indices."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    input_bits: int = 8  # bits per input value as the dataset stores it (the width an accelerator fetches)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one sample."""
        h, w, c = self.x_train.shape[1:]
        return int(h), int(w), int(c)


Checksum = tuple[str, str]  # (hashlib algorithm: "sha256" | "md5", hex digest)


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a named dataset: its files (with published checksums), where to get them, its shape."""

    kind: str                                   # "idx" | "cifar10-bin" | "sklearn"
    shape: tuple[int, int, int]                 # (H, W, C)
    num_classes: int
    pools: Mapping[str, tuple[str, ...]]        # `files:` value -> file names read for that pool, in order
    files: Mapping[str, Checksum | None] = field(default_factory=dict)  # file name -> checksum (None: unpublished)
    mirrors: tuple[str, ...] = ()               # base URLs tried in order by fetch_dataset
    max_value: int = 255                        # raw pixel maximum, mapped to +1
    subdirs: tuple[str, ...] = ()               # extra folder names the files may sit in (e.g. an extracted tarball)
    note: str = ""                              # how to get the files when there is no mirror


def _idx_info(sha: dict[str, str], mirrors: tuple[str, ...]) -> DatasetInfo:
    names = {p: (f"{s}-images-idx3-ubyte.gz", f"{s}-labels-idx1-ubyte.gz") for p, s in (("train", "train"),
                                                                                        ("test", "t10k"))}
    return DatasetInfo("idx", (28, 28, 1), 10, names, {f: ("sha256", sha[f]) for f in sum(names.values(), ())},
                       mirrors)


_CIFAR_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))

DATASETS: dict[str, DatasetInfo] = {
    "mnist": _idx_info({
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }, ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")),
    "fashion-mnist": _idx_info({
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    }, ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/")),
    "digits": DatasetInfo("sklearn", (8, 8, 1), 10, {"train": ()}, max_value=16),
    "cifar10": DatasetInfo(
        "cifar10-bin", (32, 32, 3), 10, {"train": _CIFAR_TRAIN, "test": ("test_batch.bin",)},
        dict.fromkeys((*_CIFAR_TRAIN, "test_batch.bin")), subdirs=("cifar-10-batches-bin",),
        note="download the binary version (https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz) and extract it"),
}

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path: Path) -> bytes:
    """Whole file, gunzipped when it starts with the gzip magic; I/O and gzip failures become DataError."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read file ({e.strerror or e})") from e
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: corrupt gzip data ({e}); delete the file and download it again") from e


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (raw or .gz) into a native-endian array, checking magic, dtype code and exact size."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] or raw[1]:
        raise DataError(f"{path}: not an IDX file: magic must be 00 00 <dtype> <ndim>, got {raw[:4].hex(' ')!r}")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        allowed = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise DataError(f"{path}: IDX dtype code 0x{code:02X} unsupported; allowed: {allowed}")
    if ndim == 0:
        raise DataError(f"{path}: IDX ndim is 0; allowed: 1..255 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header: {ndim} dimensions need {header} bytes, file has {len(raw)}")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected, actual = math.prod(dims) * dtype.itemsize, len(raw) - header
    if actual != expected:
        what = "truncated" if actual < expected else "trailing bytes after"
        raise DataError(f"{path}: {what} IDX payload: dims {dims} of {dtype.name} need {expected} bytes, "
                        f"file has {actual}")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def load_idx_pair(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read matching IDX image (n, H, W) and label (n,) files; labels come back as int64."""
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3:
        raise DataError(f"{images}: images must be 3-D (n, H, W), got shape {x.shape}")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{labels}: labels must be a 1-D integer array, got {y.dtype} shape {y.shape}")
    if len(x) != len(y):
        raise DataError(f"image/label count mismatch: {images} has {len(x)} images, {labels} has {len(y)} labels")
    return x, y.astype(np.int64)


def read_cifar10(paths: Iterable[str | Path]) -> tuple[np.ndarray, np.ndarray]:
    """Read CIFAR-10 binary batches (3073-byte records: label + 3072 CHW bytes) into uint8 NHWC and int64 labels."""
    xs, ys = [], []
    for path in map(Path, paths):
        raw = _read_bytes(path)
        if not raw or len(raw) % 3073:
            raise DataError(f"{path}: CIFAR-10 binary size must be a positive multiple of 3073 bytes "
                            f"(1 label + 3x32x32 pixels), got {len(raw)}")
        rec = np.frombuffer(raw, np.uint8).reshape(-1, 3073)
        xs.append(rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        ys.append(rec[:, 0].astype(np.int64))
    if not xs:
        raise DataError("read_cifar10: no batch files given")
    return np.ascontiguousarray(np.concatenate(xs)), np.concatenate(ys)


def _info(name: Any) -> DatasetInfo:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}")
    return DATASETS[name]


def _cache_root() -> Path:
    return Path(os.environ.get("NEUROSIM_CACHE") or Path.home() / ".cache" / "neurosim")


def _locate(folder: Path, fname: str) -> Path | None:
    """The file itself, or its gunzipped twin when the published name ends in .gz."""
    for cand in (fname, fname.removesuffix(".gz")):
        if (folder / cand).is_file():
            return folder / cand
    return None


def resolve_data_dir(name: str, data_dir: str | Path | None, need: Iterable[str] | None = None) -> Path:
    """Folder holding dataset `name`: explicit data_dir (the folder or a root with `name/`), else $NEUROSIM_DATA/name,
    else the download cache ($NEUROSIM_CACHE or ~/.cache/neurosim, then `name/`). A folder qualifies when it holds
    every file in `need` (default: any one file of the dataset)."""
    info = _info(name)
    if not info.files:
        raise DataError(f"dataset {name!r} is embedded (scikit-learn) and needs no data folder")
    need = list(need) if need is not None else None
    if data_dir is not None:
        roots = [Path(data_dir).expanduser(), Path(data_dir).expanduser() / name]
    else:
        env = os.environ.get("NEUROSIM_DATA")
        roots = ([Path(env).expanduser() / name] if env else []) + [_cache_root() / name]
    looked = [r / s for r in roots for s in ("", *info.subdirs)]
    for folder in looked:
        found = [_locate(folder, f) is not None for f in (need if need is not None else info.files)]
        if found and (all(found) if need is not None else any(found)):
            return folder
    files = ", ".join(need if need is not None else info.files)
    how = (f"run `neurosim data fetch {name}`" if info.mirrors else info.note) + \
        f", or pass --data DIR / set NEUROSIM_DATA to a folder holding {name}/"
    raise DataError(f"dataset {name!r}: files not found ({files}); looked in: "
                    f"{', '.join(map(str, looked))}; {how}")


def _load_pool(name: str, info: DatasetInfo, folder: Path | None, pool: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw integer images (n, H, W, C) and int64 labels of one file pool, validated against `info`."""
    if info.kind == "sklearn":
        from sklearn.datasets import load_digits
        d = load_digits()
        x, y, where = d.images.astype(np.uint8)[..., None], d.target.astype(np.int64), "sklearn load_digits"
    elif info.kind == "idx":
        img, lab = (_locate(folder, f) for f in info.pools[pool])
        x, y = load_idx_pair(img, lab)
        if x.dtype != np.uint8:
            raise DataError(f"{img}: {name} images must be unsigned bytes (IDX code 0x08), got {x.dtype}")
        x, where = x[..., None], str(lab)  # the image shape is checked against the images file below
        if x.shape[1:] != info.shape:
            raise DataError(f"{img}: {name} images must be {info.shape[:2]} with {info.shape[2]} channel(s), "
                            f"got per-image shape {x.shape[1:]}")
    else:
        paths = [_locate(folder, f) for f in info.pools[pool]]
        (x, y), where = read_cifar10(paths), ", ".join(map(str, paths))
    if x.shape[1:] != info.shape:
        raise DataError(f"{where}: {name} images must be {info.shape[:2]} with {info.shape[2]} channel(s), "
                        f"got per-image shape {x.shape[1:]}")
    bad = (y < 0) | (y >= info.num_classes)
    if bad.any():
        raise DataError(f"{where}: label {y[bad][0]} out of range; allowed: 0..{info.num_classes - 1}")
    return x, y


_SPLITS = ("train", "validation", "test")
_KEYS = ("name", "files", "shuffle", *_SPLITS)
_RANGE_HELP = "[start, stop] (half-open, 0 <= start < stop) or {files: <pool>, range: [start, stop]}"


def _parse_split(spec: Mapping, key: str, pools: Mapping, default: str, src: str) -> tuple[str, int, int] | None:
    """(pool, start, stop) of one split key, or None for an empty/omitted validation split."""
    where, value, pool = f"{src}: dataset.{key}", spec.get(key), default
    if value is None or (isinstance(value, (list, tuple)) and not value):
        if key == "validation":
            return None
        raise DataError(f"{where} is required; allowed: {_RANGE_HELP}")
    if isinstance(value, Mapping):
        if set(value) - {"files", "range"} or "range" not in value:
            raise DataError(f"{where}: mapping keys {sorted(map(str, value))}; allowed: files, range (required)")
        pool, value = value.get("files", default), value["range"]
    if pool not in pools:
        raise DataError(f"{where}: files {pool!r}; allowed: {', '.join(pools)}")
    ok = isinstance(value, (list, tuple)) and len(value) == 2 and \
        all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    if not ok or not 0 <= value[0] < value[1]:
        raise DataError(f"{where}: got {value!r}; allowed: {_RANGE_HELP}")
    return pool, int(value[0]), int(value[1])


def _data_dir_for(name: str, data_dir: str | Path | None, need: list[str], source: str) -> Path:
    """resolve_data_dir, its error naming the workload file (dataset.name) that asked for the data."""
    try:
        return resolve_data_dir(name, data_dir, need=need)
    except DataError as e:
        raise DataError(f"{source}: dataset.name: {e}") from None


def _pool_for(name: str, info: DatasetInfo, folder: Path | None, pool: str, source: str):
    """_load_pool, its error (which names the data file) prefixed with the workload file that uses it."""
    try:
        return _load_pool(name, info, folder, pool)
    except DataError as e:
        raise DataError(f"{source}: dataset: {e}") from None


def load_dataset(spec: dict, data_dir: str | Path | None = None, seed: int = 0, source: str = "<workload>") -> Dataset:
    """Build a Dataset from a workload's `dataset:` mapping (name, files, train/validation/test ranges, shuffle)."""
    if not isinstance(spec, Mapping):
        raise DataError(f"{source}: dataset must be a mapping with keys {', '.join(_KEYS)}; got {type(spec).__name__}")
    unknown = [str(k) for k in spec if k not in _KEYS]
    if unknown:
        raise DataError(f"{source}: dataset: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_KEYS)}")
    name = spec.get("name")
    if name not in DATASETS:
        raise DataError(f"{source}: dataset.name {name!r} unknown; allowed: {', '.join(DATASETS)}")
    info = DATASETS[name]
    default = spec.get("files", "train")
    if default not in info.pools:
        raise DataError(f"{source}: dataset.files {default!r}; allowed for {name}: {', '.join(info.pools)}")
    shuffle = spec.get("shuffle", info.kind == "sklearn")
    if not isinstance(shuffle, bool):
        raise DataError(f"{source}: dataset.shuffle {shuffle!r}; allowed: true, false")

    splits = {k: _parse_split(spec, k, info.pools, default, source) for k in _SPLITS}
    used = {k: s for k, s in splits.items() if s is not None}
    keys = list(used)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            (pa, sa, ea), (pb, sb, eb) = used[a], used[b]
            if pa == pb and max(sa, sb) < min(ea, eb):
                raise DataError(f"{source}: dataset.{a} [{sa}, {ea}] and dataset.{b} [{sb}, {eb}] overlap in the "
                                f"{pa} files; allowed: disjoint ranges")

    pools_needed = sorted({p for p, _, _ in used.values()})
    folder = None if info.kind == "sklearn" else _data_dir_for(
        name, data_dir, [f for p in pools_needed for f in info.pools[p]], source)
    data = {p: _pool_for(name, info, folder, p, source) for p in pools_needed}
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key in _SPLITS:
        if splits[key] is None:
            h, w, c = info.shape
            out[key] = np.empty((0, h, w, c), np.float32), np.empty(0, np.int64)
            continue
        pool, start, stop = splits[key]
        x, y = data[pool]
        if stop > len(x):
            raise DataError(f"{source}: dataset.{key} [{start}, {stop}] out of bounds: the {name} {pool} files hold "
                            f"{len(x)} images; allowed: 0 <= start < stop <= {len(x)}")
        idx = np.random.default_rng(seed).permutation(len(x))[start:stop] if shuffle else slice(start, stop)
        xs = (x[idx].astype(np.float32) * 2 - info.max_value) / np.float32(info.max_value)
        out[key] = xs, y[idx].astype(np.int64)
    return Dataset(name, *out["train"], *out["validation"], *out["test"], num_classes=info.num_classes,
                   input_bits=int(info.max_value).bit_length())


def _digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(url: str, tmp: Path, algo: str, timeout: float, progress: bool) -> str:
    """Stream url into tmp, returning the digest of what was written."""
    from tqdm import tqdm
    h = hashlib.new(algo)
    with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as f, \
            tqdm(total=int(r.headers.get("Content-Length") or 0) or None, unit="B", unit_scale=True,
                 desc=url.rsplit("/", 1)[-1], disable=not progress, leave=False) as bar:
        for chunk in iter(lambda: r.read(1 << 16), b""):
            f.write(chunk)
            h.update(chunk)
            bar.update(len(chunk))
    return h.hexdigest()


def fetch_dataset(name: str, cache_dir: str | Path | None = None, mirrors: list[str] | None = None,
                  progress: bool = True, timeout: float = 30.0,
                  files: Mapping[str, Checksum] | None = None) -> Path:
    """Download the missing files of `name` into cache_dir (the dataset folder; default $NEUROSIM_CACHE/name or
    ~/.cache/neurosim/name), verifying each checksum; files already present and valid are kept. `files` overrides
    the published {file: (algo, hexdigest)} table (tests, private mirrors). Returns the dataset folder."""
    info = _info(name)
    mirrors = list(info.mirrors if mirrors is None else mirrors)
    files = dict(info.files if files is None else files)
    if not mirrors or not files:
        raise DataError(f"dataset {name!r} cannot be downloaded: {info.note or 'no mirror or files known'}")
    for fname, check in files.items():
        if not (isinstance(check, tuple) and len(check) == 2 and check[0] in ("sha256", "md5")):
            raise DataError(f"dataset {name!r}: {fname}: checksum {check!r}; allowed: ('sha256'|'md5', hexdigest)")
    folder = Path(cache_dir).expanduser() if cache_dir is not None else _cache_root() / name
    folder.mkdir(parents=True, exist_ok=True)
    errors = []  # keep going: every file that can be fetched is, then all failures are reported together
    for fname, (algo, want) in files.items():
        dest = folder / fname
        if dest.is_file() and _digest(dest, algo) == want.lower():
            continue
        failures = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + fname
            fd, tmp_name = tempfile.mkstemp(prefix=f".{fname}.", suffix=".part", dir=folder)
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                got = _download(url, tmp, algo, timeout, progress)
                if got == want.lower():
                    os.replace(tmp, dest)
                    break
                failures.append(f"{url}: {algo} mismatch, expected {want}, got {got}")
            except (OSError, ValueError) as e:   # URLError/HTTPError/timeouts are OSError; bad URLs ValueError
                failures.append(f"{url}: {e}")
            finally:
                tmp.unlink(missing_ok=True)
        else:
            errors.append(f"could not fetch {fname} (expected {algo} {want}): " + "; ".join(failures))
    if errors:
        raise DataError(f"{name}: " + " | ".join(errors))
    return folder
