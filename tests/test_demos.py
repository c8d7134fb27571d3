"""Every demo runs with its tiny budget (TINYWGAN_SMOKE=1), writes its figure under the working
folder (figures/NAME.png) and prints finite numbers; so does the benchmark."""
import math
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMOS = sorted(f for f in os.listdir(os.path.join(ROOT, "demos")) if f.endswith(".py"))

# What a demo must print even on its tiny budget: the facts that do not depend on training.
EXPECT = {
    "01_emd_by_hand.py": [r"W = sum \|delta_i\| = 2 \+ 2 \+ 1 \+ 0 = 5",
                          r"metrics\.emd_discrete: W = 5,"],
    "02_parallel_lines.py": [r"KL infinite at (\d+) of \1 thetas",        # theta != 0: disjoint
                             r"JS in \[0\.6931, 0\.6931\] \(log 2 = 0\.6931\)"],
}


def run_smoke(path, cwd):
    """Run a script at the smoke budget in ``cwd``; return its stdout (the run must succeed and
    print only finite numbers)."""
    env = dict(os.environ, TINYWGAN_SMOKE="1", MPLBACKEND="Agg",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, path], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert not re.search(r"\b(nan|inf)\b", out.stdout, re.I), out.stdout
    numbers = re.findall(r"(?<![\w.])[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?", out.stdout)
    assert numbers and all(math.isfinite(float(x)) for x in numbers), out.stdout
    return out.stdout


def test_demo_names_carry_the_lesson_number():
    bad = [d for d in DEMOS if not re.fullmatch(r"\d\d_[a-z0-9_]+\.py", d)]
    assert not bad, "demos/ holds lessons named NN_name.py only: %s" % bad
    numbers = [d[:2] for d in DEMOS]
    assert len(set(numbers)) == len(numbers), "two lessons share a number: %s" % DEMOS


@pytest.mark.parametrize("demo", DEMOS)
def test_demo_smoke(demo, tmp_path):
    stdout = run_smoke(os.path.join(ROOT, "demos", demo), tmp_path)
    pngs = [f for _, _, files in os.walk(tmp_path) for f in files if f.endswith(".png")]
    assert pngs, "%s wrote no figure under its working folder" % demo
    for pattern in EXPECT.get(demo, []):
        assert re.search(pattern, stdout), "%s did not print %r" % (demo, pattern)


def test_benchmark_smoke(tmp_path):
    stdout = run_smoke(os.path.join(ROOT, "benchmarks", "gpu_speed.py"), tmp_path)
    assert "ms/gen-iter" in stdout
