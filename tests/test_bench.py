"""The bench runs and reports sane numbers (no timing assertions: speed is measured, not tested)."""
import json
import math

import pytest

from tinywgan import bench
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
