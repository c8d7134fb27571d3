"""The moving average of the generator's weights (``TrainingJob.update_ema``, cfg.ema): its
arithmetic, that it is what samples, its checkpoint entry and a bit-identical resume, the flag."""
import numpy as np
import pytest

from tinywgan import backend
from tinywgan.cli import main
from tinywgan.job import checkpoint
from tinywgan.job.checkpoint import CheckpointError
from tinywgan.job.training import TrainingJob, make_config

SMALL = dict(width=8, depth=2, batch=16, log_every=10)


def test_the_average_follows_its_recurrence_and_samples():
    """theta_ema <- theta_ema + (1 - beta_t)(theta - theta_ema), beta_t = min(ema, (1+t)/(10+t)),
    recomputed here in float64 from G's weights after every iteration."""
    job = TrainingJob(make_config(iters=100, ema=0.9, **SMALL))
    want = backend.to_numpy(job.G.params).astype(np.float64)
    betas = []
    while job.t < 100:
        job.step()
        beta = min(0.9, (1 + job.t) / (10 + job.t))
        betas.append(beta)
        want += (1 - beta) * (backend.to_numpy(job.G.params) - want)
    assert betas[0] < 0.9 == betas[-1]                      # the ramp, then the decay
    np.testing.assert_allclose(backend.to_numpy(job.G_ema.params), want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(job.G_ema.params, job.G.params, atol=1e-4)
    z = backend.rng(job.xp, job.cfg.seed, "s").standard_normal((5, 2), dtype=job.G.dtype)
    assert np.array_equal(job.sample(5, ("s",)), job.G_ema(z))


def test_the_average_does_not_feed_back_into_training():
    """Only what samples changes: G and D follow the same steps, bit for bit, with or without."""
    with_ema, without = (TrainingJob(make_config(iters=30, ema=e, **SMALL)) for e in (0.9, 0.0))
    with_ema.train()
    without.train()
    for a, b in ((with_ema.G.params, without.G.params), (with_ema.D.params, without.D.params)):
        assert np.array_equal(a, b)


def test_without_it_the_last_iterate_samples_and_the_checkpoint_holds_no_average():
    job = TrainingJob(make_config(iters=5, ema=0.0, **SMALL))
    job.train()
    z = backend.rng(job.xp, job.cfg.seed, "s").standard_normal((5, 2), dtype=job.G.dtype)
    assert job.G_ema is None and np.array_equal(job.sample(5, ("s",)), job.G(z))
    assert not any(k.startswith("G_ema") for k in job.state_arrays())


def test_a_resumed_run_continues_the_average_bit_identically(tmp_path, device):
    cfg = make_config(iters=80, ema=0.95, device=device, **SMALL)
    whole = TrainingJob(cfg)
    whole.train()
    half = TrainingJob(cfg)
    half.train(iters=40)
    half.save_checkpoint(tmp_path / "c.npz")
    assert "G_ema/params" in checkpoint.load(tmp_path / "c.npz")[0]
    resumed = TrainingJob.from_checkpoint(tmp_path / "c.npz")
    resumed.train()
    for a, b in ((whole.G_ema.params, resumed.G_ema.params), (whole.G.params, resumed.G.params)):
        assert np.array_equal(backend.to_numpy(a), backend.to_numpy(b))


@pytest.mark.parametrize("change, match", [
    (dict(drop=True), "missing G_ema/params"),
    (dict(value=np.nan), r"NaN or inf in G_ema/params \(1 of"),
    (dict(value=np.zeros(3, np.float32)), "G_ema/params"),
])
def test_a_bad_average_in_a_checkpoint_is_refused(tmp_path, change, match):
    job = TrainingJob(make_config(iters=20, ema=0.9, **SMALL))
    job.train(iters=3)
    path = tmp_path / "c.npz"
    job.save_checkpoint(path)
    arrays, meta = checkpoint.load(path)
    if change.get("drop"):
        del arrays["G_ema/params"]
    elif np.ndim(change["value"]):
        arrays["G_ema/params"] = change["value"]
    else:
        arrays["G_ema/params"][1] = change["value"]
    checkpoint.save(path, arrays, meta)
    with pytest.raises(CheckpointError, match=match):
        TrainingJob.from_checkpoint(path)


@pytest.mark.parametrize("ema", [1.0, -0.1, float("nan")])
def test_a_decay_outside_0_1_is_refused(ema):
    with pytest.raises(ValueError, match=r"config: ema must be"):
        make_config(ema=ema)


def test_the_flag_sets_it_and_the_header_says_so(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--iters", "20", "--width", "8", "--depth", "1", "--log-every", "10",
                 "--eval-n", "100", "--no-figure", "--ema", "0.9", "--out", str(out)]) == 0
    assert "moving average of the generator's weights, decay 0.9" in capsys.readouterr().out
    arrays, meta = checkpoint.load(out / "checkpoint.npz")
    assert meta["config"]["ema"] == 0.9 and "G_ema/params" in arrays


def test_a_checkpoint_written_before_the_average_existed_resumes_without_it(tmp_path):
    job = TrainingJob(make_config(iters=20, ema=0.0, **SMALL))
    job.train(iters=10)
    job.save_checkpoint(tmp_path / "c.npz")
    arrays, meta = checkpoint.load(tmp_path / "c.npz")
    del meta["config"]["ema"]                               # the config of an older tinywgan
    checkpoint.save(tmp_path / "c.npz", arrays, meta)
    back = TrainingJob.from_checkpoint(tmp_path / "c.npz")
    assert back.t == 10 and back.cfg.ema == 0 and back.G_ema is None
