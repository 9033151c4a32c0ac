"""What ``%load_ext rbxsecrets_magic`` adds to IPython's start-up.

Times ``ipython -c "%load_ext rbxsecrets_magic"`` against ``ipython -c "pass"``, alternating the
two in one run so that drift (caches, CPU frequency, other load) hits both alike, and prints
the medians and their ratio. Target: at most 1.05x.

Both sides run with the same private IPYTHONDIR and a private bytecode cache, warmed once
before timing. Before timing, it also checks in a fresh ``ipython`` that the magics are
registered and that loading imported none of the heavy libraries the magics use later
(requests, urllib3, nacl, tqdm, dotenv).

Usage::

    python bench/load_ext.py [--pairs 15]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IPYTHON = str(Path(sys.executable).with_name("ipython"))
HEAVY = ("requests", "urllib3", "nacl", "tqdm", "dotenv")
CHECK = (
    "%load_ext rbxsecrets_magic\n"
    "import sys\n"
    "assert 'rbx_secret_set' in get_ipython().magics_manager.magics['line']\n"
    f"print('heavy:', [m for m in {HEAVY!r} if m in sys.modules])\n"
)


def _env(home: str) -> dict[str, str]:
    # A private IPYTHONDIR: no user profile, startup files or extensions skew either side.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RBX_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    # Bytecode is cached as after a normal install (pip compiles site-packages, but an
    # editable checkout run with PYTHONDONTWRITEBYTECODE would recompile us on every start).
    # A private prefix keeps the checkout clean and treats IPython and us alike.
    env.update(
        HOME=home,
        IPYTHONDIR=os.path.join(home, "ipython"),
        PYTHONPYCACHEPREFIX=os.path.join(home, "pycache"),
    )
    return env


def _time(code: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one ``ipython -c code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [IPYTHON, "-c", code],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _report(label: str, base: list[float], loaded: list[float]) -> float:
    base_median, loaded_median = statistics.median(base), statistics.median(loaded)
    paired = statistics.median(b / a for a, b in zip(base, loaded, strict=True))
    ratio = loaded_median / base_median
    print(
        f"{label}: pass {base_median * 1000:6.1f} ms, load_ext {loaded_median * 1000:6.1f} ms "
        f"(medians of {len(base)}); ratio {ratio:.3f}x, median of paired ratios {paired:.3f}x"
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=15, help="alternating measurements")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = _env(home)
        check = subprocess.run(
            [IPYTHON, "-c", CHECK], env=env, capture_output=True, text=True, check=True
        )
        heavy = [line for line in check.stdout.splitlines() if line.startswith("heavy:")]
        if heavy != ["heavy: []"]:
            print(f"check FAILED: loading imported heavy modules: {check.stdout.strip()!r}")
            return 1
        print("check: magics registered; loading imported none of " + ", ".join(HEAVY))
        # Warm-up: the first runs pay for bytecode compilation and a cold page cache.
        for code in ("pass", "%load_ext rbxsecrets_magic"):
            _time(code, env)
        base: list[tuple[float, float]] = []
        loaded: list[tuple[float, float]] = []
        for i in range(args.pairs):
            # Alternate which goes first, so neither always runs right after the other.
            order = [("pass", base), ("%load_ext rbxsecrets_magic", loaded)]
            for code, sink in order if i % 2 == 0 else reversed(order):
                sink.append(_time(code, env))
    print('ipython -c "pass" against ipython -c "%load_ext rbxsecrets_magic", alternating:')
    wall = _report("wall", [w for w, _ in base], [w for w, _ in loaded])
    _report("cpu ", [c for _, c in base], [c for _, c in loaded])
    print(
        f"start-up ratio (wall medians) {wall:.3f}x, target <= 1.05x: "
        f"{'OK' if wall <= 1.05 else 'OVER TARGET'}"
    )
    return 0 if wall <= 1.05 else 1


if __name__ == "__main__":
    sys.exit(main())
