"""The bench runs and reports sane numbers (no timing assertions: speed is measured, not tested)."""
import json
import math

import pytest

from tinywgan.job import bench
from tinywgan.cli import main

TINY = dict(width=16, depth=3, batch=8, n_critic=2, repeats=2, iters_per_repeat=1, warmup=1)


def _check(r, device, fast_taken):
    for k in ("ms_per_gen_iter", "floor_ms", "ratio", "peak_mem_mb"):
        assert isinstance(r[k], float) and math.isfinite(r[k]) and r[k] > 0, (k, r[k])
    assert r["device"] == device and r["fast_path_taken"] is fast_taken
    assert r["config"]["width"] == TINY["width"] and r["config"]["n_critic"] == 2


def test_matmul_count_follows_design():
    assert bench.matmul_count(3, 5) == 120           # 2 layers x (5 x 11 + 5)
    assert bench.matmul_count(2, 5) == 60 and bench.matmul_count(3, 1) == 32
    assert bench.matmul_count(3, 5, method="wgan") == 80
    assert bench.matmul_count(3, 5, method="wgan-lp") == 120     # its penalty costs as GP's
    assert bench.matmul_count(3, 5, method="wgan-sn", activation="tanh") == 80
    assert bench.matmul_count(3, 5, activation="tanh") == 140   # + the s'' path: 2 x (5 x 13 + 5)


@pytest.mark.parametrize("fast", [True, False])
def test_bench_run(device, fast):
    _check(bench.run(device=device, fast=fast, **TINY), device, fast)


def test_bench_refuses_depth_one():
    with pytest.raises(ValueError, match="depth"):
        bench.run(**dict(TINY, depth=1))


def test_cli_json(capsys):
    argv = ["bench", "--json", "--width", "16", "--batch", "8", "--n-critic", "2",
            "--repeats", "2", "--iters-per-repeat", "1", "--warmup", "1", "--no-fast"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    r = json.loads(lines[0])
    _check(r, "cpu", False)
    assert r["matmuls"] == 2 * (2 * 11 + 5)


def test_cli_text(capsys):
    assert main(["bench", "--width", "16", "--batch", "8", "--repeats", "1",
                 "--iters-per-repeat", "1", "--warmup", "0"]) == 0
    assert "ratio" in capsys.readouterr().out


def test_the_reported_ratio_is_the_reported_times_quotient(monkeypatch):
    """ms, floor and ratio come from one repeat, the one with the median ratio. Separate medians
    of scripted times (iterations 1.2, 1.4, 8.5 s against floors 1, 6, 7 s) would print 1.4 s
    against a floor of 6 s with a ratio of 1.2."""
    floors = iter([0.5, 1.0, 6.0, 7.0])                       # the untimed warm call first
    clock = iter([0.0, 1.2, 10.0, 11.4, 20.0, 28.5])          # each iteration: start, end
    monkeypatch.setattr(bench, "_time_floor", lambda *args: next(floors))
    monkeypatch.setattr(bench, "time", type("Clock", (), {"perf_counter": lambda: next(clock)}))
    r = bench.run(**dict(TINY, repeats=3, warmup=0))
    assert (r["ms_per_gen_iter"], r["floor_ms"], r["ratio"]) == (1200.0, 1000.0, 1.2)
    assert (r["ratio_min"], r["ratio_max"]) == (round(1.4 / 6, 4), round(8.5 / 7, 4))
