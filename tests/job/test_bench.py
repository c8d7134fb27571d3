"""The bench runs and reports sane numbers (no timing assertions: speed is measured, not tested)."""
import json
import math

import numpy as np
import pytest

from tinywgan import fast as fused
from tinywgan.job import bench
from tinywgan.cli import main
from tinywgan.job.config import make_config
from tinywgan.job.training import TrainingJob

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


class Counting(np.ndarray):
    """An array that counts the products of one iteration in units of (B x W)(W x W): a product
    with two dimensions W and a third k B, as (k B x W)(W x W) or (W x k B)(k B x W), adds k."""
    B, W, units = 7, 16, []          # the batch and the width differ from every other dimension

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = [np.asarray(a) if isinstance(a, np.ndarray) else a for a in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(np.asarray(o) for o in kwargs["out"])
        if ufunc is np.matmul and method == "__call__" and min(a.ndim for a in inputs) == 2:
            dims = [*inputs[0].shape, inputs[1].shape[1]]
            if dims.count(self.W) >= 2:
                dims.remove(self.W)
                dims.remove(self.W)
                if dims[0] % self.B == 0:
                    Counting.units.append(dims[0] // self.B)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if "out" in kwargs or not isinstance(result, np.ndarray) or result.dtype == bool:
            return result
        return result.view(Counting)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("method", ["wgan-gp", "wgan-lp", "wgan", "wgan-sn", "gan"])
def test_matmul_count_is_what_an_iteration_multiplies(method, activation, monkeypatch):
    """One gan_toy iteration, plain and fused, with every weight (and the fused steps' buffers)
    counting the products it enters: as many as matmul_count says."""
    make_buffers = fused.Buffers.__init__

    def counting_buffers(self, net, rows):
        make_buffers(self, net, rows)
        for name in ("H", "mask", "dA"):
            setattr(self, name, [a.view(Counting) for a in getattr(self, name)])
    monkeypatch.setattr(fused.Buffers, "__init__", counting_buffers)
    for fast in (True, False):
        job = TrainingJob(make_config("gan_toy", width=Counting.W, depth=3, batch=Counting.B,
                                      n_critic=5, dtype="float64", method=method,
                                      activation=activation, fast=fast))
        for net in (job.G, job.D):
            net.W = tuple(w.view(Counting) for w in net.W)
            net.W_used = net.W if net.sn is None else tuple(w.view(Counting) for w in net.W_used)
        job.step()                                     # the fused steps make their buffers
        Counting.units.clear()
        job.step()
        assert sum(Counting.units) == bench.matmul_count(3, 5, method, activation), \
            (fast, job.step_fns)


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
    # the repeats' start, each iteration's start and end, the repeats' end
    clock = iter([0.0, 0.0, 1.2, 10.0, 11.4, 20.0, 28.5, 30.0])
    monkeypatch.setattr(bench, "_time_floor", lambda *args: next(floors))
    monkeypatch.setattr(bench, "time", type("Clock", (), {
        "perf_counter": lambda: next(clock), "process_time": lambda: 0.0}))
    r = bench.run(**dict(TINY, repeats=3, warmup=0))
    assert (r["ms_per_gen_iter"], r["floor_ms"], r["ratio"]) == (1200.0, 1000.0, 1.2)
    assert (r["ratio_min"], r["ratio_max"]) == (round(1.4 / 6, 4), round(8.5 / 7, 4))


def test_an_implementation_beside_is_timed_in_the_same_repeats(monkeypatch):
    """``beside`` (benchmarks/torch_gan_toy.py's PyTorch) runs after tinywgan's iteration in
    every repeat; its ms, tinywgan's and vs = their quotient come from the repeat whose vs is
    the median, and repeats that disagree on it flag the result. Scripted: tinywgan 1.2, 1.4, 8.5 s;
    beside 2, 1, 10 s -> vs 0.6, 1.4, 0.85."""
    floors = iter([0.5, 1.0, 1.0, 7.0])
    clock = iter([0.0, 0.5, 0.0, 0.0, 1.2, 10.0, 11.4, 20.0, 28.5, 30.0])   # warm-up first
    others = iter([0.1, 2.0, 1.0, 10.0])                      # its warm-up call first
    calls = []
    monkeypatch.setattr(bench, "_time_floor", lambda *args: next(floors))
    monkeypatch.setattr(bench, "time", type("Clock", (), {
        "perf_counter": lambda: next(clock), "process_time": lambda: 0.0}))
    r = bench.run(**dict(TINY, repeats=3, warmup=1),
                  beside=("other", lambda k: calls.append(k) or next(others)))
    assert calls == [1, 1, 1, 1]            # warmed up like tinywgan's, then once per repeat
    assert r["beside"] == {"name": "other", "ms": 10000.0, "tinywgan_ms": 8500.0, "vs": 0.85,
                           "vs_min": 0.6, "vs_max": 1.4}
    assert any("disagree on other (tinywgan / other 0.600 to 1.400" in w
               for w in r["unreliable"])
    assert "beside it, other: 10000.0 ms against tinywgan's 8500.0 ms in its median repeat: " \
        "tinywgan / other 0.850 (repeats: 0.600 to 1.400)" in bench.format_result(r)
    monkeypatch.undo()
    assert bench.run(**TINY)["beside"] is None


def test_a_result_that_cannot_be_trusted_is_flagged_not_given(monkeypatch):
    """A ratio below 1, repeats that disagree and a busy machine each put a reason in
    ``unreliable`` (the same list in --json), and the text then calls the ratio no result."""
    assert bench.unreliable(1.2, 1.1, 1.3, load=0.1, cpus=2) == []
    [why] = bench.unreliable(0.49, 0.45, 0.52, load=0.1, cpus=2)
    assert "faster than its own floor" in why
    [why] = bench.unreliable(1.2, 1.0, 1.5, load=0.1, cpus=2)
    assert "repeats disagree (ratios 1.000 to 1.500" in why
    [why] = bench.unreliable(1.2, 1.1, 1.2, load=2.5, cpus=2)
    assert "busy (load 2.50 on 2 cores" in why
    assert bench.unreliable(1.2, 1.1, 1.2, load=1.03, cpus=2, cpu_share=0.99) == []  # its own
    [why] = bench.unreliable(1.2, 1.1, 1.2, load=0.1, cpus=2, cpu_share=0.6)     # last run
    assert "this process ran 60 % of the time it was timed" in why
    assert bench.unreliable(1.2, 1.1, 1.2, load=None, cpus=None) == []   # no load average
    monkeypatch.setattr(bench, "load_average", lambda: 9.0)
    r = bench.run(**TINY)
    assert r["load_before"] == 9.0 and any("busy" in w for w in r["unreliable"])
    text = bench.format_result(r)
    assert "UNRELIABLE, not a result: ratio" in text and "\nunreliable: the machine was busy" \
        in text and "load 9.0 -> 9.0 on" in text


def test_the_gpu_check_runs_and_reports_every_part(tmp_path):
    """benchmarks/gpu_check.py at its smoke budget: the tests, bench on the device and on the
    CPU, and the main job, each part in the report; without a GPU the strict device stands in
    and the report says on its device line that no GPU was measured."""
    import os
    import subprocess
    import sys
    from conftest import GPU
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    report = tmp_path / "report.md"
    out = subprocess.run([sys.executable, os.path.join(root, "benchmarks", "gpu_check.py"),
                          "--smoke", "--report", str(report)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    text = report.read_text()
    device = "gpu" if GPU else "strict"
    for part in ("## 1. Tests", "| %s |" % device, "| cpu |", "times faster (target: 10)",
                 "## 3. python -m tinywgan train --device %s" % device, "W1 ", "every part ran"):
        assert part in text, (part, text)
    assert ("NO GPU here" in text) is not GPU
