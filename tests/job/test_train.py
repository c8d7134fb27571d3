"""Training: the four methods end to end, bit-identical resume, faults, the main job's files."""
import json
import os

import numpy as np
import pytest

from tinywgan import backend
from tinywgan.job import checkpoint
from tinywgan.cli import main
from tinywgan.job.run import train_run
from tinywgan.job.training import METHODS, TrainingJob, TrainingDiverged, make_config

TINY = dict(width=16, depth=2, batch=32, log_every=10, eval_n=200)


def on_device(device):
    """TINY, in float64 on a GPU: the CPU and the GPU then agree to far below the tolerance
    after 20 iterations, where float32's differently ordered sums do not."""
    return dict(TINY, dtype="float64") if device == "gpu" else TINY


@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_end_to_end_on_every_device(method, device):
    """The whole loop, checkpoint and sampling on the device; the strict device must give the
    CPU's numbers (same draws; within float32 rounding). A GPU sums its products in another
    order, and 20 iterations of float32 training grow that rounding to 1e-2 (measured on an
    H200): there the two runs are compared in float64 (``on_device``)."""
    res = {}
    for dev in ("cpu", device):
        tr = TrainingJob(make_config(method=method, iters=20, device=dev, eval_every=20,
                                     **on_device(device)))
        tr.train()
        assert isinstance(tr.G.params, backend.array_module(dev).ndarray)
        assert isinstance(tr.sample(5), backend.array_module(dev).ndarray)
        res[dev] = backend.to_numpy(tr.G.params), tr.history[-1]
    np.testing.assert_allclose(res[device][0], res["cpu"][0], rtol=1e-5, atol=1e-6)
    row = res[device][1]
    for key in ("critic_loss", "w_estimate", "gen_loss", "w1", "w1_floor", "modes"):
        assert np.isfinite(row[key])


@pytest.mark.parametrize("method", METHODS)
def test_resume_is_bit_identical(method, tmp_path, device):
    """200 iterations in one go == 100 + checkpoint + resume + 100 (parameters, bit for bit)."""
    cfg = make_config(method=method, iters=200, device=device, width=8, depth=2, batch=16,
                      log_every=50)
    whole = TrainingJob(cfg)
    whole.train()
    half = TrainingJob(cfg)
    half.train(iters=100)
    half.save_checkpoint(tmp_path / "c.npz")
    resumed = TrainingJob.from_checkpoint(tmp_path / "c.npz")
    assert resumed.t == 100
    resumed.train()
    for a, b in ((whole.G.params, resumed.G.params), (whole.D.params, resumed.D.params)):
        assert np.array_equal(backend.to_numpy(a), backend.to_numpy(b))


def test_a_nan_stops_training_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path,
                                                                               monkeypatch):
    cfg = make_config(iters=40, **TINY)
    plain_step = TrainingJob.generator_step

    def poisoned(self, t):
        out = plain_step(self, t)
        if t == 24:                                        # iteration 25 goes bad
            self.G.params[3] = np.nan
        return out
    monkeypatch.setattr(TrainingJob, "generator_step", poisoned)
    with pytest.raises(TrainingDiverged, match=r"iteration 2[56]: .*(loss|grad).* nan"):
        train_run(cfg, str(tmp_path), quiet=True, figure=False)
    kept = TrainingJob.from_checkpoint(tmp_path / "checkpoint.npz")
    assert kept.t == 20 and np.all(np.isfinite(kept.G.params))


def test_huge_learning_rates_diverge_with_advice():
    tr = TrainingJob(make_config(iters=50, lr_d=1e30, lr_g=1e30, **TINY))
    with pytest.raises(TrainingDiverged, match="smaller learning rate"):
        tr.train()


@pytest.mark.parametrize("field, value, match", [
    ("lr_d", -1.0, "lr_d"), ("lam", float("nan"), "lam"), ("batch", 0, "batch"),
    ("method", "wgan-xx", "method"), ("dataset", "mnist", "dataset"), ("betas", (0.5, 1.0), "betas"),
    ("n_critic", 2.5, "n_critic"), ("activation", "relu6", "unknown activation"),
    ("device", "tpu", "device"), ("clip", 0.0, "clip"),
])
def test_invalid_hyperparameters_are_refused_before_training(field, value, match):
    with pytest.raises(ValueError, match=match):
        make_config(**{field: value})


def test_unknown_preset_and_field():
    with pytest.raises(ValueError, match="unknown preset"):
        make_config("gan-toy")
    with pytest.raises(ValueError, match="unknown config fields"):
        make_config(learning_rate=1e-3)


def test_gan_toy_preset_is_the_reference():
    cfg = make_config("gan_toy")
    assert (cfg.width, cfg.depth, cfg.lam, cfg.n_critic, cfg.batch, cfg.lr_d, cfg.lr_g,
            cfg.betas, cfg.latent, cfg.activation) == (512, 3, 0.1, 5, 256, 1e-4, 1e-4,
                                                       (0.5, 0.9), 2, "relu")


def test_dataset_defaults_fill_only_what_is_not_given():
    grid = make_config(dataset="25gaussians")
    assert (grid.iters, grid.betas) == (16000, (0.0, 0.9))
    assert make_config(dataset="25gaussians", iters=50).iters == 50       # a flag wins
    assert make_config("gan_toy", dataset="25gaussians").betas == (0.5, 0.9)  # so does a preset
    ring = make_config()
    assert (ring.dataset, ring.iters, ring.betas) == ("8gaussians", 8000, (0.5, 0.9))
    digits = make_config(dataset="digits")
    assert (digits.n_critic, digits.lam, digits.width, digits.batch, digits.lr_d) == (
        5, 10.0, 256, 64, 1e-3)
    assert make_config(dataset="digits", width=16).width == 16
    for name, betas in (("ring", (0.5, 0.9)), ("grid", (0.0, 0.9))):       # the table's data
        c = make_config(dataset=name)
        assert (c.iters, c.lr_d, c.lr_g, c.betas) == (12000, 4e-3, 4e-3, betas)


def test_method_defaults_fill_only_what_is_not_given_and_win_over_the_dataset():
    sn = make_config(method="wgan-sn", dataset="25gaussians")
    assert (sn.n_critic, sn.lr_d, sn.iters, sn.betas) == (5, 1e-3, 3000, (0.0, 0.9))
    assert make_config(method="wgan", n_critic=2).n_critic == 2               # a flag wins
    assert make_config("wgan_paper").lr_d == 5e-5                            # so does a preset
    assert make_config(method="gan").n_critic == make_config().n_critic == 1
    clip_digits = make_config(method="wgan", dataset="digits")
    assert (clip_digits.lr_d, clip_digits.iters, clip_digits.width) == (5e-4, 3000, 256)


def test_corrupt_or_foreign_checkpoints_are_explained(tmp_path):
    bad = tmp_path / "c.npz"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(checkpoint.CheckpointError):
        TrainingJob.from_checkpoint(bad)
    checkpoint.save(bad, {"x": np.zeros(3)}, {"hello": 1})
    with pytest.raises(checkpoint.CheckpointError, match="not a tinywgan training checkpoint"):
        TrainingJob.from_checkpoint(bad)
    tr = TrainingJob(make_config(**TINY))
    arrays = tr.state_arrays()
    arrays["D/params"] = np.zeros(5, np.float32)
    checkpoint.save(bad, arrays, {"config": {**vars(tr.cfg), "betas": [0.5, 0.9]}, "t": 0})
    with pytest.raises(checkpoint.CheckpointError, match="D/params"):
        TrainingJob.from_checkpoint(bad)


def test_main_job_writes_the_run_folder_and_sample_writes_points(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--iters", "30", "--width", "16", "--log-every", "10",
                 "--eval-n", "300", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    for key in ("w1", "w1_floor", "modes", "modes_total", "high_quality", "iters", "seconds"):
        assert key in m and np.isfinite(m[key])
    assert m["iters"] == 30 and m["modes_total"] == 8
    assert (out / "figure.png").stat().st_size > 10_000
    assert (out / "checkpoint.npz").exists()
    lines = (out / "history.jsonl").read_text().splitlines()
    assert [json.loads(x)["iter"] for x in lines] == [10, 20, 30]
    assert "it/s" in capsys.readouterr().out                 # progress was shown
    assert main(["sample", str(out), "-n", "77", "-o", str(tmp_path / "p.npy")]) == 0
    points = np.load(tmp_path / "p.npy", allow_pickle=False)
    assert points.shape == (77, 2) and np.all(np.isfinite(points))


def test_cli_refuses_bad_flags_with_a_message(tmp_path, capsys):
    assert main(["train", "--lr-d", "-3", "--out", str(tmp_path / "r")]) == 2
    assert "lr_d" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "r")


def _shifted_pair(rng, n=128):
    """x_real ~ N(0, I) in 2-D; x_fake the same law shifted by (1, 0): W1 = 1 exactly."""
    x = rng.standard_normal((n, 2), dtype=np.float32)
    return x, rng.standard_normal((n, 2), dtype=np.float32) + np.float32([1.0, 0.0])


def test_fit_critic_trains_each_lipschitz_method_against_fixed_samples():
    """The critic-only loop (demos 6 and 7): GP pulls the gradient norm to 1 and the estimate
    to W1 = 1 (on 4000 fresh points: sampling s.e. ~0.02); clipping keeps every parameter in
    [-c, c]; SN (a 1-Lipschitz critic) stays below W1."""
    from tinywgan import MLP
    from tinywgan.core.optim import Adam, RMSProp
    from tinywgan.measure.critic import fit_critic
    x_real, x_fake = _shifted_pair(backend.rng(np, 1, "test-eval"), 4000)

    def estimate(D):
        D.spectral_normalise()                  # W / sigma of the final weights (u, v as they are)
        return float(D(x_real).mean() - D(x_fake).mean())
    D = MLP([2, 32, 32, 1], seed=0)
    out = fit_critic(D, Adam(lr=1e-3), _shifted_pair, 800, method="wgan-gp", lam=10.0)
    assert 0.9 < float(out["grad_norm"]) < 1.1
    assert 0.9 < estimate(D) < 1.08
    D = MLP([2, 32, 32, 1], seed=0)
    fit_critic(D, RMSProp(lr=1e-3), _shifted_pair, 50, method="wgan", clip=0.01)
    assert float(np.abs(D.params).max()) <= 0.01
    D = MLP([2, 32, 32, 1], spectral_norm=True, seed=0)
    fit_critic(D, Adam(lr=1e-3), _shifted_pair, 800, method="wgan-sn")
    assert 0.3 < estimate(D) < 1.05


def test_fit_critic_refuses_a_method_its_critic_was_not_built_for():
    from tinywgan import MLP
    from tinywgan.core.optim import Adam
    from tinywgan.measure.critic import fit_critic
    with pytest.raises(ValueError, match="spectral_norm=True"):
        fit_critic(MLP([2, 4, 1]), Adam(), _shifted_pair, 1, method="wgan-sn")
    with pytest.raises(ValueError, match="spectral_norm=False"):
        fit_critic(MLP([2, 4, 1], spectral_norm=True), Adam(), _shifted_pair, 1)
    with pytest.raises(ValueError, match="fit_critic: method must be one of"):
        fit_critic(MLP([2, 4, 1]), Adam(), _shifted_pair, 1, method="wgan-xx")


# ---- the digits: 64-D data through the same loop ----------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_on_the_digits_on_every_device(method, device):
    """G: latent -> 64 and D: 64 -> 1; the loop, the evaluation and sampling run on the device,
    and the strict device gives the CPU's numbers (a GPU: in float64, ``on_device``)."""
    pytest.importorskip("sklearn")
    res = {}
    for dev in ("cpu", device):
        tr = TrainingJob(make_config(method=method, dataset="digits", iters=20, device=dev,
                                     eval_every=20, **on_device(device)))
        assert tr.G.widths == [32, 16, 16, 64] and tr.D.widths == [64, 16, 16, 1]
        tr.train()
        x = tr.sample(5)
        assert isinstance(x, backend.array_module(dev).ndarray) and x.shape == (5, 64)
        res[dev] = backend.to_numpy(tr.G.params), tr.history[-1]
    np.testing.assert_allclose(res[device][0], res["cpu"][0], rtol=1e-5, atol=1e-6)
    row = res[device][1]
    for key in ("critic_loss", "w_estimate", "gen_loss", "w1", "w1_floor"):
        assert np.isfinite(row[key]), (key, row[key])
    assert "modes" not in row and row["eval_n"] == tr.cfg.curve_n           # 500 < 898


def test_digits_evaluation_compares_disjoint_real_sets():
    """The digits are 1797 images: the real sets of the floor are disjoint slices (no image
    matched with itself at distance 0), so n is capped at 1797 // (floor_pairs + 1). A
    generator that returns the reference images themselves scores W1 = 0 below the floor."""
    pytest.importorskip("sklearn")
    from tinywgan.measure import data
    tr = TrainingJob(make_config(dataset="digits", **TINY))
    out = tr.evaluate(5000)
    assert out["eval_n"] == 898 and 0 < out["w1_floor"] < out["w1"]
    assert tr.evaluate(5000, floor_pairs=3)["eval_n"] == 449
    rows = backend.rng(np, tr.cfg.seed, "eval-real").permutation(data.DIGITS_N)[:300]
    tr.sample = lambda n, stream: data.digits()[rows[:n]][::-1]       # the reference, reordered
    copied = tr.evaluate(300)
    assert copied["w1"] == pytest.approx(0, abs=1e-9) and copied["w1_floor"] > 1


def test_main_job_on_the_digits_writes_images_and_samples_64_pixels(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "run"
    assert main(["train", "--dataset", "digits", "--iters", "20", "--width", "16",
                 "--log-every", "10", "--eval-n", "300", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["dataset"] == "digits" and m["eval_n"] == 300 and "modes" not in m
    assert np.isfinite(m["w1"]) and np.isfinite(m["w1_floor"])
    assert (out / "figure.png").stat().st_size > 10_000
    assert "W1" in capsys.readouterr().out
    assert main(["sample", str(out), "-n", "7", "-o", str(tmp_path / "p.npy")]) == 0
    assert np.load(tmp_path / "p.npy", allow_pickle=False).shape == (7, 64)


def test_main_job_on_the_digits_without_sklearn_says_what_to_install(tmp_path, capsys,
                                                                       monkeypatch):
    import sys
    from tinywgan.measure import data
    monkeypatch.setattr(data, "_DIGITS_CACHE", {})
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    assert main(["train", "--dataset", "digits", "--iters", "5", "--width", "8",
                 "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "pip install scikit-learn" in err and "Traceback" not in err
