"""Every demo runs with its tiny budget (TINYWGAN_SMOKE=1), writes its figure under the working
folder (figures/NAME.png) and prints finite numbers."""
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
    "emd_by_hand.py": [r"W = sum \|delta_i\| = 2 \+ 2 \+ 1 \+ 0 = 5",
                       r"metrics\.emd_discrete: W = 5,"],
    "parallel_lines.py": [r"KL infinite at (\d+) of \1 thetas",           # theta != 0: disjoint
                          r"JS in \[0\.6931, 0\.6931\] \(log 2 = 0\.6931\)"],
    # the Jacobian's eigenvalues at the equilibrium: real part 0 for the unregularised GAN and
    # WGAN (no convergence), negative with R1 and with instance noise (convergence)
    "dirac_gan.py": [r"(?m)^GAN \(minimax\) .*Re\(lambda\) = -?0\.0000$",
                     r"(?m)^GAN \(non-saturating\) .*Re\(lambda\) = -?0\.0000$",
                     r"(?m)^WGAN, clipped .*Re\(lambda\) = -?0\.0000$",
                     r"(?m)^GAN \+ R1 .*closed form -0\.1500\+0\.4770i.*Re\(lambda\) = -0\.1500$",
                     r"(?m)^GAN \+ instance noise .*Re\(lambda\) = -0\.2500$"],
}


@pytest.mark.parametrize("demo", DEMOS)
def test_demo_smoke(demo, tmp_path):
    env = dict(os.environ, TINYWGAN_SMOKE="1", MPLBACKEND="Agg",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, os.path.join(ROOT, "demos", demo)], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    if demo != "gpu_speed.py":                      # the one demo that only prints a table
        pngs = [f for _, _, files in os.walk(tmp_path) for f in files if f.endswith(".png")]
        assert pngs, "%s wrote no figure under its working folder" % demo
    assert not re.search(r"\b(nan|inf)\b", out.stdout, re.I), out.stdout
    numbers = re.findall(r"(?<![\w.])[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?", out.stdout)
    assert numbers and all(math.isfinite(float(x)) for x in numbers), out.stdout
    for pattern in EXPECT.get(demo, []):
        assert re.search(pattern, out.stdout), "%s did not print %r" % (demo, pattern)
