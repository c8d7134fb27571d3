"""Tests that need a real GPU (CuPy and CUDA). Skipped cleanly elsewhere; the strict device
(tests/test_device.py, and the `device` fixture everywhere) covers the same code paths in CI."""
import numpy as np
import pytest

from conftest import gpu
from tinywgan import backend
from tinywgan.core.mlp import MLP
from tinywgan.job.training import TrainingJob, make_config

pytestmark = gpu


def test_penalty_on_the_gpu_matches_numpy():
    import cupy
    x = np.random.default_rng(0).normal(size=(16, 2))
    out = {}
    for dev in ("cpu", "gpu"):
        net = MLP((2, 32, 32, 1), "tanh", dtype="float64", device=dev, seed=0)
        net.zero_grad()
        R, _ = net.gradient_penalty(backend.array_module(dev).asarray(x), 10.0)
        out[dev] = float(R), backend.to_numpy(net.grads)
    assert isinstance(net.grads, cupy.ndarray)
    assert out["gpu"][0] == pytest.approx(out["cpu"][0], rel=1e-10)
    np.testing.assert_allclose(out["gpu"][1], out["cpu"][1], rtol=1e-8, atol=1e-12)


def test_training_stays_on_the_gpu_and_checkpoints(tmp_path):
    import cupy
    tr = TrainingJob(make_config(iters=20, width=64, log_every=10, eval_n=500, device="gpu"))
    tr.train()
    assert isinstance(tr.G.params, cupy.ndarray) and isinstance(tr.sample(10), cupy.ndarray)
    tr.save_checkpoint(tmp_path / "c.npz")
    back = TrainingJob.from_checkpoint(tmp_path / "c.npz", device="cpu")
    np.testing.assert_array_equal(back.G.params, tr.G.params.get())
    assert np.isfinite(tr.evaluate()["w1"])
