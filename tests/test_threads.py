"""BLAS threads: the flag every computing command takes, read before NumPy loads; the count the
run header prints and config.json records; the library's default one thread."""
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


@pytest.mark.parametrize("flag, env, expected", [([], {}, 1), (["--threads", "1"], {}, 1),
                                                 ([], {"OPENBLAS_NUM_THREADS": "1"}, 1)])
def test_train_prints_and_records_its_blas_threads(tmp_path, flag, env, expected):
    """The header says the count NumPy's BLAS uses (read back by threadpoolctl) and config.json
    records it; without a flag or a count in the environment it is tinywgan's default, 1."""
    out = tmp_path / "run"
    p = _run(["train", "--iters", "2", "--log-every", "1", "--width", "8", "--eval-n", "50",
              "--no-figure", "--quiet", "--out", str(out)] + flag, env)
    assert p.returncode == 0, p.stderr
    assert "threads: %d BLAS thread " % expected in p.stdout
    assert json.loads((out / "config.json").read_text())["threads"] == expected


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
