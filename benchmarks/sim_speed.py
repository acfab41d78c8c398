"""Hardware-simulation speed: (1) how much simulating every training batch adds to training alone (bar: at most
25 %), for the MNIST CNN and MLP on gxnor.yaml, plain and simulated training alternating in one warm process;
(2) inference of the 10,000 MNIST test images through the CNN on gxnor.yaml (bar: under 10 s), with events/s.
Prints a table and one JSON object as its last line.

    python benchmarks/sim_speed.py --data DIR [--threads 2] [--batches 40] [--repeats 3]
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parser, set_threads  # noqa: E402


def _train(workload: str, data_dir, n: int, batch: int, arch) -> tuple[float, float, dict]:
    """Samples/s of training n samples, with the counting observer, plus the hardware observer if arch."""
    from neurosim.core.counting import CountingObserver
    from neurosim.core.train import train
    from neurosim.events import ObserverGroup
    from neurosim.pipeline import HardwareRun, Overrides, prepare

    p = prepare(workload, Overrides(epochs=1, batch=batch), data_dir)
    p.data.x_train, p.data.y_train = p.data.x_train[:n], p.data.y_train[:n]
    p.data.x_val = p.data.x_val[:0]
    obs = [CountingObserver()]
    hw = None
    if arch is not None:
        hw = HardwareRun(arch, p)
        obs.append(hw.timed)
    t0 = time.perf_counter()
    res = train(p.net, p.data, p.cfg, observer=ObserverGroup(obs), progress=False)
    wall = time.perf_counter() - t0
    info = {}
    if hw is not None:
        r = hw.observer.finish()
        info = {"sim_seconds": hw.seconds, "events": r.events_represented, "events_simulated": r.events_simulated}
    return res.samples_per_second, wall, info


def overhead(net: str, data_dir, batches: int, batch: int, repeats: int) -> dict:
    from neurosim.hw.arch import load_arch

    arch = load_arch("gxnor")
    wl = {"mlp": "mnist_mlp", "cnn": "mnist_cnn"}[net]
    _train(wl, data_dir, 2 * batch, batch, arch)  # compile and warm caches
    plain, sim, infos = [], [], []
    for _ in range(repeats):
        plain.append(_train(wl, data_dir, batches * batch, batch, None)[0])
        s, _, info = _train(wl, data_dir, batches * batch, batch, arch)
        sim.append(s)
        infos.append(info)
    row = {"training_samples_per_second": statistics.median(plain),
           "simulated_training_samples_per_second": statistics.median(sim), "plain_runs": plain, "sim_runs": sim}
    row["added"] = row["training_samples_per_second"] / row["simulated_training_samples_per_second"] - 1
    row["events_per_second"] = statistics.median(i["events"] / i["sim_seconds"] for i in infos)
    return row


def inference(data_dir, batch: int = 1000) -> dict:
    from neurosim.pipeline import HardwareRun, Overrides, prepare
    from neurosim.hw.arch import load_arch

    arch = load_arch("gxnor")
    p = prepare("mnist_cnn", Overrides(epochs=1), data_dir)
    x = np.concatenate([p.data.x_train, p.data.x_val, p.data.x_test])  # the 10,000 test-split images
    y = np.concatenate([p.data.y_train, p.data.y_val, p.data.y_test])
    warm = HardwareRun(arch, p, batch=batch)
    p.net.accuracy(x[:batch], y[:batch], batch, observer=warm.timed)  # compile
    hw = HardwareRun(arch, p, batch=batch)
    t0 = time.perf_counter()
    p.net.accuracy(x, y, batch, observer=hw.timed)
    res = hw.observer.finish()
    wall = time.perf_counter() - t0
    tot = res.mode_totals("eval")
    return {"images": len(x), "seconds": wall, "sim_seconds": hw.seconds, "cycles": tot["cycles"],
            "energy_pj": tot["energy_pj"], "events": res.events_represented, "events_simulated": res.events_simulated,
            "events_per_second": res.events_represented / hw.seconds if hw.seconds else None}


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--nets", default="mlp,cnn")
    args = ap.parse_args()
    set_threads(args.threads)
    global np
    import numpy as np

    results = {}
    for net in args.nets.split(","):
        row = overhead(net, args.data, args.batches, args.batch, args.repeats)
        results[net] = row
        print(f"{net}: training {row['training_samples_per_second']:.0f} samples/s, with every batch simulated "
              f"{row['simulated_training_samples_per_second']:.0f} samples/s (+{100 * row['added']:.1f} %, bar 25 %), "
              f"{row['events_per_second']:.0f} events/s", flush=True)
    inf = inference(args.data)
    print(f"inference: {inf['images']} MNIST images through the CNN on gxnor.yaml in {inf['seconds']:.2f} s "
          f"(simulation {inf['sim_seconds']:.2f} s; bar 10 s), {inf['cycles']:,} cycles, "
          f"{inf['energy_pj'] * 1e-6:.1f} uJ", flush=True)
    emit({"benchmark": "sim_speed", "threads": args.threads, "batch": args.batch, "batches": args.batches,
          "repeats": args.repeats, "training": results, "inference": inf})


if __name__ == "__main__":
    main()
