"""tinywgan.lesson: configuration fields as flags, the budgets, the thread count."""
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import pytest

from tinywgan import lesson

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))   # the repository


@dataclass
class Config:
    iters: int = 100                        # iterations
    lam: float = 10.0                       # penalty weight
    width: Optional[int] = None             # hidden width (None: the library's)
    widths: Tuple[int, ...] = (2, 8, 1)     # layer widths
    betas: Tuple[float, float] = (0.5, 0.9)
    clips: List[float] = field(default_factory=lambda: [0.1, 0.01])
    # (label, fields)
    methods: List[Tuple[str, Dict]] = field(default_factory=lambda: [("GAN", {"method": "gan"})])
    fast: bool = True
    name: str = "x"


@pytest.fixture(autouse=True)
def no_budget(monkeypatch):
    monkeypatch.delenv(lesson.SMOKE, raising=False)
    monkeypatch.delenv(lesson.FULL, raising=False)


def test_every_kind_of_field_is_a_flag():
    cfg = lesson.setup(Config, argv=[
        "--iters", "7", "--lam", "0.5", "--width", "none", "--widths", "2", "4", "4", "1",
        "--betas", "0", "0.99", "--clips", "1", "2", "3", "--no-fast", "--name", "y",
        "--methods", "[('a', {'method': 'wgan'}), ('b', {})]"], threads=None)
    assert cfg == Config(iters=7, lam=0.5, width=None, widths=(2, 4, 4, 1), betas=(0.0, 0.99),
                         clips=[1.0, 2.0, 3.0], fast=False, name="y",
                         methods=[("a", {"method": "wgan"}), ("b", {})])
    assert lesson.setup(Config, argv=["--width", "16"], threads=None).width == 16
    assert lesson.setup(Config, argv=["--lam=3"], threads=None).lam == 3


def test_the_fields_own_spelling_works_too():
    @dataclass
    class C:
        n_critic: int = 5       # critic steps
    assert lesson.setup(C, argv=["--n_critic", "2"], threads=None).n_critic == 2
    assert lesson.setup(C, argv=["--n-critic=3"], threads=None).n_critic == 3


@pytest.mark.parametrize("argv, message", [
    (["--iters", "1.5"], "--iters: expected an int, got '1.5'"),
    (["--lam", "ten"], "--lam: expected a float, got 'ten'"),
    (["--methods", "[('a', 3)]"], "--methods: expected a Python literal of type "
                                  "List[Tuple[str, Dict]]"),
    (["--methods", "import os"], "--methods: expected a Python literal"),
    (["--betas", "1"], "--betas: expected 2 arguments"),
    (["--colour", "red"], "unrecognized arguments: --colour"),
])
def test_a_bad_flag_says_which_and_what_was_expected(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        lesson.setup(Config, argv=argv, threads=None)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_budgets_are_overrides_and_flags_win(monkeypatch, capsys):
    smoke, full = dict(iters=3, lam=1.0), dict(iters=1000)
    assert lesson.setup(Config, smoke, full, argv=[], threads=None) == Config()
    assert "default budget, every field at its default" in capsys.readouterr().out
    assert lesson.setup(Config, smoke, full, argv=["--smoke"], threads=None) == \
        Config(iters=3, lam=1.0)
    assert lesson.setup(Config, smoke, full, argv=["--full"], threads=None).iters == 1000
    monkeypatch.setenv(lesson.SMOKE, "1")
    cfg = lesson.setup(Config, smoke, full, argv=["--lam", "2"], threads=None)
    assert (cfg.iters, cfg.lam) == (3, 2.0)
    assert "smoke budget; iters=3, lam=2.0" in capsys.readouterr().out
    monkeypatch.setenv(lesson.FULL, "1")                 # both set: CI's smoke budget wins
    assert lesson.setup(Config, smoke, full, argv=[], threads=None).iters == 3
    monkeypatch.setenv(lesson.SMOKE, "0")
    assert lesson.setup(Config, smoke, full, argv=[], threads=None).iters == 1000
    assert lesson.setup(Config, smoke, None, argv=[], threads=None).iters == 100  # no full one
    with pytest.raises(SystemExit):                      # and no --full flag either
        lesson.setup(Config, smoke, None, argv=["--full"], threads=None)


def test_a_budget_that_names_no_field_is_refused():
    with pytest.raises(TypeError, match="the smoke budget sets steps, not fields of Config"):
        lesson.setup(Config, smoke=dict(steps=1), argv=[], threads=None)


def test_help_lists_each_field_with_its_comment_and_default(capsys):
    with pytest.raises(SystemExit):
        lesson.setup(Config, argv=["--help"], threads=None)
    out = " ".join(capsys.readouterr().out.split())
    for text in ["--iters INT iterations (default: 100)", "--width INT|NONE hidden width",
                 "--clips FLOAT [FLOAT ...] (default: [0.1, 0.01])", "--fast, --no-fast",
                 "--methods LITERAL (label, fields) (default: [('GAN', {'method': 'gan'})])"]:
        assert text in out


def test_no_flags_are_read_in_a_notebook(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/x/ipykernel_launcher.py", "-f", "/x/kernel-1.json"])
    monkeypatch.setitem(sys.modules, "ipykernel", sys)         # any module: 'is it loaded'
    assert lesson.in_notebook()
    assert lesson.setup(Config, threads=None) == Config()


SCRIPT = """
import sys
from dataclasses import dataclass
from tinywgan import lesson
assert "numpy" not in sys.modules, "importing tinywgan.lesson loaded NumPy"
@dataclass
class C:
    n: int = 1      # a field
cfg = lesson.setup(C)
import numpy
from threadpoolctl import threadpool_info
print([pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"])
"""


def test_setup_gives_numpy_one_blas_thread():
    """Where NumPy has not loaded yet (a lesson's configuration cell comes first), and where it
    has (threadpoolctl sets it then)."""
    pytest.importorskip("threadpoolctl")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    for code in (SCRIPT, "import numpy\n" + SCRIPT.replace("assert", "# assert")):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines()[-1] == "[1]", out.stdout


# ------------------------------------------------------------------------------------------------
# A lesson run as a script: bad values, a missing matplotlib and Ctrl-C end in one line
# ------------------------------------------------------------------------------------------------

def _demo(name, *flags, prelude=""):
    import pathlib
    import subprocess
    root = pathlib.Path(__file__).resolve().parents[2]
    code = ("import runpy, sys; %s; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], "
            "run_name='__main__')" % (prelude or "pass"))
    return subprocess.run([sys.executable, "-c", code, str(root / "demos" / name)] + list(flags),
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(root)))


@pytest.mark.parametrize("name, flags, says", [
    ("05_nash_oscillation.py", ["--eta", "-1"], "--eta: must be a number > 0, got -1.0"),
    ("05_nash_oscillation.py", ["--eta", "inf"], "--eta: must be a finite number"),
    ("07_clipping_vs_penalty.py", ["--iters", "0"], "--iters: must be an int >= 1, got 0"),
    ("07_clipping_vs_penalty.py", ["--iter", "3"], "did you mean --iters?"),
])
def test_a_lesson_refuses_a_bad_value_in_one_line(name, flags, says):
    r = _demo(name, *flags)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and says in r.stderr and "--help" in r.stderr, r.stderr


def test_a_negative_start_is_allowed_where_the_lesson_says_signed(tmp_path):
    with pytest.raises(SystemExit):
        lesson.setup(_Signed, argv=["--rate", "-1"], threads=None)
    cfg = lesson.setup(_Signed, argv=["--x0", "-1", "--count", "2"], threads=None, signed=("x0",))
    assert cfg.x0 == -1.0 and cfg.count == 2


@dataclass
class _Signed:
    rate: float = 0.1     # a learning rate
    x0: float = 1.0       # a start, either sign
    count: int = 3        # a count


def test_a_lesson_without_matplotlib_says_pip_install():
    r = _demo("05_nash_oscillation.py", "--smoke",
              prelude="sys.modules['matplotlib'] = None")
    assert r.returncode == 1, r.stderr
    assert r.stderr.count("\n") == 1 and "pip install matplotlib" in r.stderr, r.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_stops_a_lesson_and_its_workers(tmp_path):
    """Lesson 7's two forked workers ignore Ctrl-C; the lesson terminates them and says in one
    line what it wrote."""
    import pathlib
    import signal
    import subprocess
    import time
    root = pathlib.Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "tests" / "job"))
    try:
        from test_interrupts import group_members
    finally:
        sys.path.pop(0)
    p = subprocess.Popen([sys.executable, str(root / "demos" / "07_clipping_vs_penalty.py")],
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, env=dict(os.environ, PYTHONPATH=str(root)))
    try:
        assert p.stdout.readline().startswith("configuration:")
        time.sleep(1.5)                                   # the workers are training
        assert p.poll() is None
        t0 = time.monotonic()
        os.killpg(p.pid, signal.SIGINT)
        out, err = p.communicate(timeout=30)
        seconds = time.monotonic() - t0
        time.sleep(0.3)
        left = group_members(p.pid)
    finally:
        for pid in group_members(p.pid):
            os.kill(pid, signal.SIGKILL)
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    assert err.count("\n") == 1 and "07_clipping_vs_penalty.py: interrupted;" in err, err
    assert seconds < 5 and left == []
