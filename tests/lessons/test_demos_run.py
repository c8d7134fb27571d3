"""Every demo runs with its tiny budget (TINYWGAN_SMOKE=1), writes its figure under the working
folder (figures/NAME.png) and prints finite numbers; so does the benchmark. Every configuration
field is a flag, and every demo opens as a notebook (one runs as one, end to end)."""
import ast
import math
import os
import re
import subprocess
import sys

import pytest

from test_readme import check_reduction

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))   # the repository
DEMOS = sorted(f for f in os.listdir(os.path.join(ROOT, "demos")) if f.endswith(".py"))

# What a demo must print even on its tiny budget: the facts that do not depend on training.
EXPECT = {
    "01_emd_by_hand.py": [r"W = sum \|delta_i\| = 2 \+ 2 \+ 1 \+ 0 = 5",
                          r"metrics\.emd_discrete: W = 5,"],
    "02_parallel_lines.py": [r"KL infinite at (\d+) of \1 thetas",        # theta != 0: disjoint
                             r"JS in \[0\.6931, 0\.6931\] \(log 2 = 0\.6931\)"],
    # the Jacobian's eigenvalues at the equilibrium: real part 0 for the unregularised GAN and
    # WGAN and RpGAN (no convergence), negative with R1, with instance noise and with RpGAN's R1 +
    # R2 (convergence)
    "06_dirac_gan.py": [r"(?m)^GAN \(minimax\) .*Re\(lambda\) = -?0\.0000$",
                     r"(?m)^GAN \(non-saturating\) .*Re\(lambda\) = -?0\.0000$",
                     r"(?m)^WGAN, clipped .*Re\(lambda\) = -?0\.0000$",
                     r"(?m)^GAN \+ R1 .*closed form -0\.1500\+0\.4770i.*Re\(lambda\) = -0\.1500$",
                     r"(?m)^GAN \+ instance noise .*Re\(lambda\) = -0\.2500$",
                     r"(?m)^RpGAN +library .*Re\(lambda\) = -?0\.0000$",
                     r"(?m)^RpGAN \+ R1 \+ R2 .*closed form -0\.3000\+0\.4000i.*"
                     r"Re\(lambda\) = -0\.3000$"],
}


#: A number as a script prints one: digits (1e999 too, which float() makes inf), or nan, inf or
#: Infinity (as json.dumps writes it) as a word of its own, any case, with a sign or not; so
#: that float() of every match can be checked for finiteness ("infinite" is not a match).
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?"
                    r"|(?<!\w)[-+]?(?:inf(?:inity)?|nan)(?!\w)", re.I)


def env(**extra):
    return dict(os.environ, MPLBACKEND="Agg",
                PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra)


def run_smoke(path, cwd, *flags):
    """Run a script at the smoke budget in ``cwd``; return its stdout (the run must succeed and
    print only finite numbers)."""
    out = subprocess.run([sys.executable, path, *flags], cwd=cwd, env=env(TINYWGAN_SMOKE="1"),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    numbers = NUMBER.findall(out.stdout)
    bad = [x for x in numbers if not math.isfinite(float(x))]
    assert numbers and not bad, "non-finite numbers %s in:\n%s" % (bad, out.stdout)
    return out.stdout


def test_demo_names_carry_the_lesson_number():
    bad = [d for d in DEMOS if not re.fullmatch(r"\d\d_[a-z0-9_]+\.py", d)]
    assert not bad, "demos/ holds lessons named NN_name.py only: %s" % bad
    numbers = [d[:2] for d in DEMOS]
    assert len(set(numbers)) == len(numbers), "two lessons share a number: %s" % DEMOS


@pytest.mark.parametrize("demo", DEMOS)
def test_demo_smoke(demo, tmp_path):
    """... and its figure, figures/name.png, keeps the layout of the README's copy."""
    stdout = run_smoke(os.path.join(ROOT, "demos", demo), tmp_path)
    figure = tmp_path / "figures" / (demo[3:-3] + ".png")
    assert figure.is_file(), "%s wrote no figures/%s.png" % (demo, demo[3:-3])
    check_reduction(figure, "docs/%s.png" % demo[3:-3], tmp_path)
    for pattern in EXPECT.get(demo, []):
        assert re.search(pattern, stdout), "%s did not print %r" % (demo, pattern)


def test_benchmark_smoke(tmp_path):
    stdout = run_smoke(os.path.join(ROOT, "benchmarks", "gpu_speed.py"), tmp_path)
    assert "ms/gen-iter" in stdout


def config_fields(path):
    """The field names of the Config dataclass a demo defines, read from its source."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    config = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Config")
    return [n.target.id for n in config.body if isinstance(n, ast.AnnAssign)]


@pytest.mark.parametrize("demo", DEMOS + ["../benchmarks/gpu_speed.py"])
def test_help_lists_every_field_with_its_default(demo):
    path = os.path.join(ROOT, "demos", demo)
    out = subprocess.run([sys.executable, path, "--help"], env=env(), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split()).partition("show this help message and exit")[2]
    for name in config_fields(path):
        flag = re.search(r"--%s (.*?)\(default: " % name.replace("_", "-"), text)
        assert flag, "%s --help: no flag --%s with its default" % (demo, name)
        words = [w for w in flag.group(1).split() if not re.fullmatch(r"[A-Z|.\[\],]+|--\S+", w)]
        assert words, "%s: the field %s has no comment to say what it is" % (demo, name)


def test_a_flag_changes_what_the_demo_computes(tmp_path):
    stdout = run_smoke(os.path.join(ROOT, "demos", "05_nash_oscillation.py"), tmp_path,
                       "--eta", "0.05", "--steps", "20")
    assert "configuration: smoke budget; eta=0.05, steps=20, print_every=10" in stdout
    assert "sqrt(1 + eta^2) = 1.001249" in stdout


def read_notebook(demo):
    jupytext = pytest.importorskip("jupytext")
    return jupytext.read(os.path.join(ROOT, "demos", demo), fmt="py:percent")


@pytest.mark.parametrize("demo", DEMOS)
def test_demo_opens_as_a_notebook_with_its_prose_as_markdown(demo):
    cells = read_notebook(demo).cells
    kinds = [c.cell_type for c in cells]
    assert kinds[0] == "markdown" and cells[0].source.startswith("# %d. " % int(demo[:2])), \
        "%s: the first cell is not the lesson's title" % demo
    assert kinds.count("markdown") >= 3, "%s: its steps are not markdown cells" % demo
    assert "lesson.setup(Config" in cells[1].source, "%s: the configuration is not first" % demo
    assert not any("# %%" in c.source for c in cells), "%s: a cell marker jupytext missed" % demo


def test_a_demo_runs_as_a_notebook(tmp_path, monkeypatch):
    """The configuration cell reads no flags there (the kernel's command line is -f FILE)."""
    nbclient = pytest.importorskip("nbclient")
    nb = read_notebook("05_nash_oscillation.py")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    for key, value in env(TINYWGAN_SMOKE="1").items():
        monkeypatch.setenv(key, value)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    out = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "configuration: smoke budget; steps=40, print_every=10" in out
    assert "wrote figures/nash_oscillation.png" in out
    assert (tmp_path / "figures" / "nash_oscillation.png").is_file()
    shown = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert shown, "the figure was not shown in the notebook"
