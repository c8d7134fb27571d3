"""BLAS threads: the flag every computing command takes, read before NumPy loads; the count the
run header prints and config.json records; the library's default one thread; train's default,
auto, and the Chooser behind it (on a clock of its own: the choice, not this machine's speed)."""
import json
import os
import subprocess
import sys

import pytest

from tinywgan import threads

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("argv, n", [(["train", "--threads", "2"], 2), (["train", "--threads=0"], 0),
                                     (["bench", "--threads", "x"], None), (["train"], None),
                                     (["train", "--threads"], None), (["train", "--threads=-1"], None)])
def test_the_flag_is_read_before_the_parser(argv, n):
    assert threads.from_argv(argv) == n


def _run(args, env=None):
    """``python -m tinywgan ARGS`` in a fresh process without a BLAS count in its environment."""
    clean = {k: v for k, v in os.environ.items() if k not in threads.VARIABLES}
    clean.update(env or {}, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "tinywgan"] + args, capture_output=True,
                          text=True, env=clean, timeout=120)


@pytest.mark.parametrize("flag, env, expected", [(["--threads", "1"], {}, 1),
                                                 (["--threads", "2"], {}, 2),
                                                 ([], {"OPENBLAS_NUM_THREADS": "1"}, 1)])
def test_train_prints_and_records_its_blas_threads(tmp_path, flag, env, expected):
    """A count given (the flag, or the environment without a flag) is the count NumPy's BLAS
    uses (read back by threadpoolctl), printed in the header and recorded in config.json."""
    out = tmp_path / "run"
    p = _run(["train", "--iters", "2", "--log-every", "1", "--width", "8", "--eval-n", "50",
              "--no-figure", "--quiet", "--out", str(out)] + flag, env)
    assert p.returncode == 0, p.stderr
    assert "threads: %d BLAS thread" % expected in p.stdout
    assert json.loads((out / "config.json").read_text())["threads"] == expected
    assert "blas_threads" not in json.loads((out / "metrics.json").read_text())


@pytest.mark.parametrize("flag", [[], ["--threads", "auto"], ["--threads=auto"]])
def test_train_chooses_its_threads_by_default(tmp_path, flag):
    """No count given: auto, said in the header, recorded in config.json; metrics.json counts
    the iterations run at each count and the done line says their shares."""
    out = tmp_path / "run"
    p = _run(["train", "--iters", "80", "--log-every", "40", "--width", "8", "--eval-n", "50",
              "--no-figure", "--quiet", "--out", str(out)] + flag)
    assert p.returncode == 0, p.stderr
    assert "threads: auto, one BLAS thread or %d (every core)" % len(os.sched_getaffinity(0)) \
        in p.stdout
    assert json.loads((out / "config.json").read_text())["threads"] == "auto"
    ran = json.loads((out / "metrics.json").read_text())["blas_threads"]
    assert sum(ran.values()) == 80 and set(ran) <= {"1", str(len(os.sched_getaffinity(0)))}
    assert "BLAS thread" in p.stdout.splitlines()[-2]


def test_auto_is_trains_alone():
    p = _run(["gradcheck", "--threads", "auto"])
    assert p.returncode == 2 and "invalid int value: 'auto'" in p.stderr


class FakeBlas:
    """A BLAS (one thread as it loads) whose iteration costs ``cost[n]`` seconds at n threads on a
    clock of its own;
    ``limit`` records each change of count."""

    def __init__(self, cost):
        self.cost, self.now, self.n, self.calls = cost, 0.0, 1, []

    def limit(self, limits):
        self.n = limits
        self.calls.append(limits)

    def step(self):
        self.now += self.cost(self.n) if callable(self.cost) else self.cost[self.n]


def _choose(monkeypatch, cost, iters, cores=2):
    blas = FakeBlas(cost)
    monkeypatch.setattr(threads.time, "perf_counter", lambda: blas.now)
    chooser = threads.Chooser(blas, cores=cores)
    for _ in range(iters):
        chooser.run(blas.step)
    return chooser, blas


def test_the_chooser_takes_every_core_where_it_is_faster(monkeypatch):
    """Idle (measured: 3.1 ms at two threads, 4.2 at one): two threads for nearly every
    iteration, one trial of one thread after another at a doubling gap."""
    chooser, blas = _choose(monkeypatch, {1: 4.2e-3, 2: 3.1e-3}, 8000)
    assert chooser.choice == 2 and chooser.iterations[2] > 0.97 * 8000
    assert blas.now < 1.02 * 8000 * 3.1e-3
    assert 3 <= chooser.trials <= 8


def test_the_chooser_keeps_one_thread_beside_busy_processes(monkeypatch):
    """Busy (measured: 6.5 ms at one thread, 6 times that at two): the trials of two threads
    are cut short once five iterations' time behind, so the run takes at most 2 % longer than
    at one thread throughout, the 2 000-iteration run too."""
    for iters in (8000, 2000):
        chooser, blas = _choose(monkeypatch, {1: 6.5e-3, 2: 40e-3}, iters)
        assert chooser.choice == 1 and chooser.trials >= 3
        assert blas.now < 1.02 * iters * 6.5e-3
        assert chooser.iterations[2] < 0.01 * iters


def test_the_chooser_leaves_every_core_when_a_busy_process_arrives(monkeypatch):
    """Idle for 2000 iterations, then busy: within a segment's iterations after the load comes,
    one thread again."""
    clock = {"t": 0}

    def cost(n):
        clock["t"] += 1
        return (3.1e-3 if n == 2 else 4.2e-3) if clock["t"] <= 2000 else \
            (40e-3 if n == 2 else 6.5e-3)
    chooser, blas = _choose(monkeypatch, cost, 2000)
    assert chooser.choice == 2
    at_two = chooser.iterations[2]
    for _ in range(60):
        chooser.run(blas.step)
    assert chooser.choice == 1 and chooser.iterations[2] - at_two <= 51


def test_the_chooser_sets_the_count_only_when_it_changes(monkeypatch):
    chooser, blas = _choose(monkeypatch, {1: 4.2e-3, 2: 3.1e-3}, 3000)
    assert all(a != b for a, b in zip(blas.calls, blas.calls[1:]))
    assert len(blas.calls) <= 2 * chooser.trials + 2


def test_one_core_leaves_the_count_alone(monkeypatch):
    chooser, blas = _choose(monkeypatch, {1: 1e-3}, 500, cores=1)
    assert blas.calls == [] and chooser.iterations == {1: 500}


def test_auto_without_threadpoolctl_says_it_stays_put(tmp_path, monkeypatch, capsys):
    """Without threadpoolctl nothing can change the count once NumPy is loaded: the run
    trains at the count in force, and the header says why and what installs it."""
    from tinywgan.cli import main
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)          # import raises ImportError
    out = tmp_path / "run"
    assert main(["train", "--iters", "2", "--log-every", "1", "--width", "8", "--eval-n", "50",
                 "--no-figure", "--quiet", "--out", str(out)]) == 0
    header = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("threads:")]
    assert len(header) == 1 and "threadpoolctl is not installed, so auto cannot change the " \
        "count: pip install threadpoolctl" in header[0], header
    assert "blas_threads" not in json.loads((out / "metrics.json").read_text())


@pytest.mark.parametrize("kw", [dict(segment=2), dict(segment=300), dict(gap=5000),
                                dict(warmup=-1), dict(slack=0)])
def test_a_chooser_refuses_segments_it_cannot_compare(kw):
    with pytest.raises(ValueError, match="Chooser needs"):
        threads.Chooser(object(), cores=2, **kw)


def test_the_threads_benchmark_runs_every_policy_to_the_same_numbers():
    """benchmarks/threads.py (the README's table) at a few iterations: one line per policy, each
    with its speed, and the same W1 at every thread count."""
    p = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "threads.py"),
                        "--iters", "3", "--repeats", "1", "--env", "--width", "8", "--eval-n",
                        "50"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()[1:]
    assert [line.split("  ")[1].strip() for line in lines] == [
        "auto", "--threads 1", "--threads 0", "OPENBLAS_NUM_THREADS=1"]
    assert len({line.split("W1 ")[1].split()[0] for line in lines}) == 1, lines
    assert all(" it/s " in line for line in lines) and "1 BLAS thread for 100 %" in lines[0]


def test_the_split_of_iterations_is_one_text_for_train_and_the_benchmark():
    assert threads.split({"1": 1, "2": 3, "4": 0}) == "1 BLAS thread for 25 %, 2 BLAS threads " \
        "for 75 %"
    assert threads.split({1: 0, 2: 0}) == ""


def test_a_config_refuses_threads_it_cannot_use():
    from tinywgan.job.config import Config
    with pytest.raises(ValueError, match="threads"):
        Config(threads="two").validate()
    assert Config(threads="auto").validate().threads == "auto"


def test_a_negative_count_is_one_line_naming_the_flag():
    p = _run(["gradcheck", "--threads", "-1"])
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip().splitlines() == [
        "tinywgan gradcheck: --threads must be >= 0 (0: the BLAS library's default), got -1"]


def test_every_computing_command_takes_the_flag():
    from tinywgan.cli import build_parser
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices
    for name in ("train", "sample", "gradcheck", "bench", "bugzoo"):
        assert "--threads" in sub[name].format_help(), name
    check = next(a for a in sub["exercises"]._actions if a.dest == "exercises_command")
    assert "--threads" in check.choices["check"].format_help()
