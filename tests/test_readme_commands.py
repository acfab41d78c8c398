"""Every command of the README's ```bash blocks runs as written (issue 13, item 3).

The commands run in order, in a scratch folder that looks like the repository root (``workloads/``,
``arch_configs/``, ``benchmarks/`` linked in), through the installed ``neurosim`` command, with small settings:
``--epochs N`` becomes ``--epochs 1``, ``workload.train.epochs=N`` becomes ``=1``, trainings that give no epochs get
``--epochs 1`` (sweeps ``--set workload.train.epochs=1``, ``reproduce binary-crossbar`` also ``--seeds 0``), and
``DIR`` becomes the dataset folder (``NEUROSIM_DATA``, else ``shared/datasets`` beside the repository). Left out, each with its
reason: the install lines, downloads, Dask cluster commands, the test suite itself, and the long
``reproduce crossbar-table1`` (``NEUROSIM_README_LONG=1`` runs it too).
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from neurosim.testing.datasets import dataset_root

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DATA = dataset_root()
LONG = bool(os.environ.get("NEUROSIM_README_LONG"))


def readme_commands(text: str) -> list[str]:
    """Every command line in the ```bash blocks, continuation lines joined, comment lines dropped, in order."""
    out: list[str] = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M):
        pending = ""
        for raw in block.splitlines():
            line = pending + raw.strip()
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            pending = ""
            if line and not line.startswith("#"):
                out.append(line)
    return out


def skip_reason(argv: list[str]) -> str | None:
    """Why a README command is not run here, or None."""
    if "pip" in argv and "install" in argv:
        return "installs the package (the first lines, for a fresh machine)"
    if argv[:3] == ["neurosim", "data", "fetch"]:
        return "downloads a dataset (network)"
    if "dask" in argv or any(a.startswith("tcp://") for a in argv) or "=" in argv[0]:
        return "needs a Dask cluster"
    if "pytest" in argv:
        return "the test suite itself"
    if argv[:3] == ["neurosim", "reproduce", "crossbar-table1"] and not LONG:
        return "takes minutes (NEUROSIM_README_LONG=1 runs it)"
    if "DIR" in argv and not DATA.is_dir():
        return f"no dataset folder ({DATA}; set NEUROSIM_DATA)"
    return None


def _has(argv: list[str], flag: str) -> bool:
    return any(a == flag or a.startswith(flag + "=") for a in argv)


def small(argv: list[str]) -> list[str]:
    """The command with small settings (see the module docstring)."""
    argv = [str(DATA) if a == "DIR" else a for a in argv]
    out: list[str] = []
    for i, a in enumerate(argv):
        if i > 0 and argv[i - 1] == "--epochs":
            a = "1"
        out.append(re.sub(r"^(workload\.train\.epochs)=\d+$", r"\1=1", a))
    cmd = out[1:2]
    epochs_set = _has(out, "--epochs") or any(a.startswith("workload.train.epochs=") for a in out)
    if cmd in (["train"], ["run"]) and not epochs_set and "--eval" not in out and not any(
            a.endswith(".csv") for a in out):
        out += ["--epochs", "1"]
    if cmd == ["sweep"] and not epochs_set:
        out += ["--set", "workload.train.epochs=1"]
    if out[1:3] == ["reproduce", "binary-crossbar"]:
        out += [] if epochs_set else ["--epochs", "1"]
        out += [] if _has(out, "--seeds") else ["--seeds", "0"]
    if out[1:3] == ["reproduce", "gxnor-table2"] and "--trained" in out and not epochs_set:
        out += ["--epochs", "1"]
    return out


def scratch_root(tmp: Path) -> Path:
    """A folder that looks like the repository root to the README's commands."""
    for name in ("workloads", "arch_configs", "benchmarks"):
        (tmp / name).symlink_to(REPO / name, target_is_directory=True)
    return tmp


def _executable() -> list[str]:
    exe = Path(sys.executable).parent / "neurosim"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "neurosim.cli"]


def run_commands(lines: list[str], cwd: Path, timeout: float = 900) -> tuple[list[str], list[str]]:
    """Run the commands in order; (failures with their stderr tails, skipped with reasons)."""
    failures, skipped = [], []
    env = {**os.environ, "NEUROSIM_DATA": str(DATA)} if DATA.is_dir() else dict(os.environ)
    for line in lines:
        argv = shlex.split(line, comments=True)
        why = skip_reason(argv)
        if why:
            skipped.append(f"{line}  [{why}]")
            continue
        cmd = small(argv)
        if cmd[0] == "neurosim":
            cmd = _executable() + cmd[1:]
        elif cmd[0] == "python":
            cmd = [sys.executable] + cmd[1:]
        t0 = time.perf_counter()
        try:
            r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            failures.append(f"{shlex.join(cmd)}: timed out after {timeout:g} s")
            continue
        print(f"{time.perf_counter() - t0:6.1f} s  exit {r.returncode}  {shlex.join(cmd[len(_executable()):])}")
        if r.returncode != 0:
            failures.append(f"{shlex.join(cmd)}: exit {r.returncode}: {r.stderr.strip()[-600:]}")
    return failures, skipped


COMMANDS = readme_commands(README.read_text(encoding="utf-8"))


def test_the_readme_has_commands_and_keeps_its_first_two_lines():
    assert len(COMMANDS) >= 20
    first = COMMANDS[:2]
    assert first[0].startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -e . && neurosim run")
    assert 'pip install -e ".[test]" && python -m pytest -q' in first[1]


@pytest.mark.parametrize("line", COMMANDS, ids=lambda c: c[:60])
def test_every_readme_command_is_written_out_and_parses(line):
    """No placeholders (``<run>``, ``FILE``, ``[--flag]``); every neurosim command parses with the CLI's parser."""
    argv = shlex.split(line, comments=True)
    assert not re.search(r"<[a-z-]+>|\[--|\bFILE\b", line), f"not runnable as written: {line}"
    if argv[0] == "neurosim" and skip_reason(argv) is None:
        from neurosim.cli import parser

        try:
            parser().parse_args(argv[1:])
        except SystemExit as e:  # --version and --help exit 0; a bad flag or a missing argument exits 2
            assert e.code == 0, f"{line}: the CLI's parser refuses it"


def test_a_failing_command_fails_the_run(tmp_path):
    failures, _ = run_commands(["neurosim run --arch nope   # not shipped", "neurosim --version"],
                               scratch_root(tmp_path))
    assert len(failures) == 1 and "unknown architecture 'nope'" in failures[0], failures


@pytest.mark.slow
def test_every_readme_command_runs(tmp_path):
    failures, skipped = run_commands(COMMANDS, scratch_root(tmp_path))
    print("skipped:\n  " + "\n  ".join(skipped))
    assert failures == [], "\n".join(failures)
