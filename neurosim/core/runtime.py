"""Process-wide runtime settings for the numba kernels: the thread pool and the allocator.

Kept apart from the kernels so every module with parallel kernels (layers, DST, optimizers) starts the
pool the same way before its first parallel call.

Determinism: the numba kernels give bit-identical results for any number of numba threads
(``NEUROSIM_NUMBA_THREADS``, ``NUMBA_NUM_THREADS``): they are parallel over independent elements or fixed-size
chunks, and none uses fastmath across a thread's chunk (a vectorized body and a scalar remainder would round
differently).  The BLAS library is not thread-invariant: OpenBLAS picks kernels and partitions by its thread
count and by the CPU, so ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` and the machine are part of a run's
seed; :func:`thread_settings` reports them for a run's summary.
"""
from __future__ import annotations

import os
import sys

import numba

_threads_ready = False


def _system_gomp_loaded() -> bool:
    """Whether the system GNU OpenMP runtime (the one numba's 'omp' layer links) is already in the process."""
    try:
        with open("/proc/self/maps") as fh:
            return any(os.path.basename(line.split()[-1]).startswith("libgomp.so") for line in fh if "/" in line)
    except OSError:
        return True


def configure_threads(spincount: int = 1000) -> str:
    """Start numba's thread pool with settings that suit kernels interleaved with multi-threaded BLAS calls.

    The kernels alternate numba parallel regions with OpenBLAS GEMMs.  With numba's default OpenMP layer the
    OpenMP workers busy-wait ~300k spins after every region and steal the cores from the BLAS threads (a CNN
    training step measured 2-3x slower on 2 cores); numba's 'workqueue' pool sleeps instead but costs ~100 us
    per parallel launch.  So: the 'omp' layer with a short spin (``GOMP_SPINCOUNT``, set only while numba
    loads its OpenMP runtime, then restored, so e.g. torch's own OpenMP is not affected), else 'workqueue'.

    Called lazily by the first kernel call; a no-op when the pool is already running or when the user chose a
    layer (``NUMBA_THREADING_LAYER``) -- then numba's own choice applies.  Like numba's default layer, the
    'omp' layer must not be used in a child forked after it started (use the 'spawn' or 'forkserver' start
    method for worker processes that run kernels).  Returns the threading layer in use.
    """
    global _threads_ready
    from numba.np.ufunc import parallel as _par

    _threads_ready = True
    if not _par._is_initialized:
        user_choice = "NUMBA_THREADING_LAYER" in os.environ or str(numba.config.THREADING_LAYER) != "default"
        if not user_choice:
            if sys.platform.startswith("linux") and not _system_gomp_loaded():
                saved = os.environ.get("GOMP_SPINCOUNT")
                if saved is None and "OMP_WAIT_POLICY" not in os.environ:
                    os.environ["GOMP_SPINCOUNT"] = str(int(spincount))
                try:
                    numba.config.THREADING_LAYER = "omp"
                    _par._launch_threads()
                except Exception:  # no OpenMP runtime: fall back to numba's own pool
                    numba.config.THREADING_LAYER = "workqueue"
                finally:
                    if saved is None:
                        os.environ.pop("GOMP_SPINCOUNT", None)
            else:
                numba.config.THREADING_LAYER = "workqueue"
        _par._launch_threads()
    return numba.threading_layer()


def tune_allocator(mmap_threshold: int = 1 << 30, trim_threshold: int = (1 << 31) - 1) -> bool:
    """Keep freed large arrays in the malloc heap instead of giving them back to the OS (glibc only).

    By default glibc serves big blocks (> 32 MiB at most, often much less) with fresh ``mmap`` pages and trims
    the heap top on free, so every large temporary (im2col matrices, activations) is page-faulted and zeroed
    by the kernel again at each training step: ~25% of a small-CNN step on 2 cores.  Raising the mmap and trim
    thresholds makes repeated same-size allocations reuse warm memory.  Process-wide; called at import unless
    the environment sets ``NEUROSIM_NO_MALLOC_TUNING=1``.  Returns whether it was applied.
    """
    import ctypes

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(-3, int(mmap_threshold)) == 1  # M_MMAP_THRESHOLD
        ok &= libc.mallopt(-1, int(trim_threshold)) == 1  # M_TRIM_THRESHOLD
        return bool(ok)
    except (OSError, AttributeError):  # not glibc (e.g. musl)
        return False


if os.environ.get("NEUROSIM_NO_MALLOC_TUNING", "") in ("", "0"):
    tune_allocator()


def ensure_threads():
    """Start the pool once, and run numba regions on NEUROSIM_NUMBA_THREADS threads (default 1).

    The per-batch kernels are small and sit between multi-threaded BLAS calls; with a second numba thread
    they fight the spinning BLAS workers for the two cores. Measured on the 2-core machine (batch 100):
    MNIST MLP 13.3k samples/s with one numba thread vs 10k with two; the CNN is equal (2.9k).
    """
    if not _threads_ready:
        n = numba_threads_setting()
        configure_threads()
        numba.set_num_threads(n)


def numba_threads_setting() -> int:
    """NEUROSIM_NUMBA_THREADS (default 1), checked: an integer from 1 to the threads numba may use."""
    raw = os.environ.get("NEUROSIM_NUMBA_THREADS", "1")
    top = numba.config.NUMBA_NUM_THREADS
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if not 1 <= n <= top:
        raise ValueError(f"NEUROSIM_NUMBA_THREADS: got {raw!r}; allowed: an integer 1..{top} (the threads numba may "
                         f"use on this machine)")
    return n


PARALLEL_MIN_ELEMENTS = 1 << 18  # below this a second thread costs more than it saves


class parallel_for:
    """Context manager: use every numba thread for one large element-wise kernel (e.g. a 500k-weight update)."""

    def __init__(self, elements: int):
        self.big = elements >= PARALLEL_MIN_ELEMENTS

    def __enter__(self) -> None:
        if self.big:
            ensure_threads()
            self.saved = numba.get_num_threads()
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)

    def __exit__(self, *exc) -> None:
        if self.big:
            numba.set_num_threads(self.saved)


def thread_settings() -> dict[str, object]:
    """The thread settings that, with the seed, fix a run's numbers: the BLAS library, its threads and CPU kernels.

    The numba thread count is reported too, although results do not depend on it.
    """
    blas: list[dict[str, object]] = []
    try:
        from threadpoolctl import threadpool_info

        blas = [{k: i.get(k) for k in ("internal_api", "num_threads", "architecture", "version")}
                for i in threadpool_info() if i.get("user_api") == "blas"]
    except Exception:  # threadpoolctl missing or unable to inspect: report what the environment says
        blas = [{"env": {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
                         if k in os.environ}}]
    ready = _threads_ready  # numba.get_num_threads() would start the pool, bypassing configure_threads
    return {"blas": blas, "numba_threads": numba.get_num_threads() if ready else None,
            "numba_max_threads": numba.config.NUMBA_NUM_THREADS,
            "numba_threading_layer": numba.threading_layer() if ready else None}
