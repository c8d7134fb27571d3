"""The command line's boundary: every mistake ends in one line on stderr saying what is wrong and
what to do, with a non-zero status and no traceback; sample writes exactly what it is asked;
the help tells the truth."""
import errno
import json
import os
import pathlib
import re
import sys

import numpy as np
import pytest

import tinywgan
from tinywgan.job import checkpoint
from tinywgan.cli import build_parser, main
from tinywgan.job.training import TrainingJob, make_config

ROOT = pathlib.Path(__file__).resolve().parents[2]              # the repository
TINY = ["--iters", "20", "--width", "8", "--depth", "1", "--log-every", "10", "--eval-n", "100",
        "--eval-every", "0", "--quiet", "--no-figure"]


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def one_line(err):
    assert err.count("\n") == 1 and err.startswith("tinywgan ") and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished tiny run to sample from."""
    folder = tmp_path_factory.mktemp("trained") / "run"
    assert main(["train"] + TINY + ["--out", str(folder)]) == 0
    return folder


# ---- train: each mistake, one line ---------------------------------------------------------------

@pytest.mark.parametrize("flags, status, message", [
    (["--seed", "-1"], 2, "seed must be an int >= 0, got -1"),
    (["--batch", "100000000000"], 2, "needs about .* TB of memory .*one step \\(batch"),
    (["--width", "10000000"], 2, "needs about .* of memory .*the networks \\(width 10000000"),
    (["--eval-n", "10000000"], 2, "needs about .* TB of memory .*an evaluation \\(10000000"),
    (["--lr-d", "-3"], 2, "lr_d must be a finite number > 0"),
])
def test_bad_settings_are_refused_before_anything_is_written(tmp_path, capsys, flags, status,
                                                            message):
    got, _, err = run(capsys, "train", *TINY, "--out", str(tmp_path / "r"), *flags)
    assert got == status and re.search(message, one_line(err))
    assert not (tmp_path / "r").exists()


def test_gradcheck_refuses_a_negative_seed(capsys):
    status, _, err = run(capsys, "gradcheck", "--seed", "-1")
    assert status == 2 and "--seed must be an int >= 0, got -1" in one_line(err)


def test_a_gpu_without_cupy_is_named_for_train_and_sample(tmp_path, capsys, monkeypatch,
                                                         trained):
    monkeypatch.setitem(sys.modules, "cupy", None)
    status, _, err = run(capsys, "train", *TINY, "--device", "gpu", "--out", str(tmp_path / "r"))
    assert status == 1 and "needs CuPy, not installed: pip install cupy" in one_line(err)
    status, _, err = run(capsys, "sample", str(trained), "--device", "gpu",
                         "-o", str(tmp_path / "p.npy"))
    assert status == 1 and "needs CuPy, not installed: pip install cupy" in one_line(err)
    assert not (tmp_path / "r").exists() and not (tmp_path / "p.npy").exists()


@pytest.mark.parametrize("missing, flags, needs", [
    ("matplotlib", [], "matplotlib \\(the figure\\).*or add --no-figure"),
    ("scipy.optimize", ["--no-figure"], "SciPy \\(the exact W1 of every evaluation\\)"),
])
def test_missing_libraries_are_found_before_training(tmp_path, capsys, monkeypatch, missing,
                                                     flags, needs):
    monkeypatch.setitem(sys.modules, missing, None)
    argv = [a for a in TINY if a != "--no-figure"] + flags
    status, _, err = run(capsys, "train", *argv, "--out", str(tmp_path / "r"))
    assert status == 1 and re.search("this needs %s" % needs, one_line(err))
    assert not (tmp_path / "r").exists()                     # nothing trained, nothing written


def test_a_folder_that_cannot_be_written_is_named(tmp_path, capsys, monkeypatch):
    """(As root a chmod does not stop writes, so the refusal is simulated.)"""
    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", path)
    monkeypatch.setattr(os, "makedirs", refuse)
    status, _, err = run(capsys, "train", *TINY, "--out", str(tmp_path / "ro"))
    assert status == 1 and one_line(err).endswith(
        "could not write %s (Permission denied); choose a folder you can write (--out); no "
        "checkpoint was saved\n"
        % (tmp_path / "ro"))


def test_a_full_disk_says_which_iteration_is_kept(tmp_path, capsys, monkeypatch):
    plain, calls = np.lib.format.write_array, []

    def write_array(*args, **kwargs):
        calls.append(1)
        if len(calls) > 10:                 # the first checkpoint's 10 members, then full
            raise OSError(errno.ENOSPC, "No space left on device")
        return plain(*args, **kwargs)
    monkeypatch.setattr(np.lib.format, "write_array", write_array)
    run_dir = tmp_path / "run"
    status, _, err = run(capsys, "train", *TINY, "--out", str(run_dir))
    assert status == 1 and "(No space left on device); free some space; then iteration 10 is " \
        "saved in %s; resume with: python -m tinywgan train --out %s --resume" % (
            run_dir / "checkpoint.npz", run_dir) in one_line(err)
    assert TrainingJob.from_checkpoint(run_dir / "checkpoint.npz").t == 10
    assert not [n for n in os.listdir(run_dir) if checkpoint.is_temporary(n) or n == "lock"]


def _poison_at(monkeypatch, iteration):
    plain = TrainingJob.generator_step

    def poisoned(self, t):
        out = plain(self, t)
        if t == iteration - 1:
            self.G.params[3] = np.nan
        return out
    monkeypatch.setattr(TrainingJob, "generator_step", poisoned)


@pytest.mark.parametrize("bad_at, kept", [(5, None), (15, 10)])
def test_divergence_names_the_checkpoint_only_if_there_is_one(tmp_path, capsys, monkeypatch,
                                                              bad_at, kept):
    _poison_at(monkeypatch, bad_at)
    status, _, err = run(capsys, "train", *TINY, "--out", str(tmp_path / "r"))
    assert status == 1 and "training diverged at generator iteration" in one_line(err)
    if kept is None:
        assert "no checkpoint was saved before it: train anew with smaller learning rates " \
            "(--lr-d 0.001 --lr-g 0.001)" in err and "is saved" not in err
        assert not (tmp_path / "r" / "checkpoint.npz").exists()
    else:
        assert "iteration 10 is saved in %s: resume it with smaller learning rates: python -m " \
            "tinywgan train --out %s --resume --lr-d 0.001 --lr-g 0.001" % (
                tmp_path / "r" / "checkpoint.npz", tmp_path / "r") in err
        monkeypatch.undo()
        assert main(["train", "--out", str(tmp_path / "r"), "--resume", "--lr-d", "0.001",
                     "--lr-g", "0.001", "--quiet", "--no-figure"]) == 0


def test_a_corrupt_checkpoint_on_resume_claims_no_kept_checkpoint(tmp_path, capsys, trained):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "checkpoint.npz").write_bytes((trained / "checkpoint.npz").read_bytes()[:-50])
    status, _, err = run(capsys, "train", "--out", str(run_dir), "--resume")
    assert status == 1 and "is not an .npz (zip) file" in one_line(err) and "kept" not in err


# ---- sample --------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["-n", "0"], "n must be an int >= 1, got 0"),
    (["-n", "-5"], "n must be an int >= 1, got -5"),
    (["--seed", "-2"], "seed must be an int >= 0"),
    (["-o", ""], "-o must name a file"),
    (["-o", "pts.dat"], "the name must end in .npy or .txt or .csv"),
    (["-o", "nodir/p.npy"], "the folder .*nodir does not exist"),
    (["-o", "."], "-o . is a folder; name a file in it"),
    (["--grid", "g.png"], "--grid draws digits; this run's dataset is 8gaussians"),
    (["-n", "100000000000000"], "needs about .* of memory"),
])
def test_sample_refuses_what_it_cannot_honour(tmp_path, capsys, monkeypatch, trained, argv,
                                              message):
    monkeypatch.chdir(tmp_path)
    status, _, err = run(capsys, "sample", str(trained), *argv)
    assert status == 2 and re.search(message, one_line(err))
    assert os.listdir(tmp_path) == []


def test_sample_writes_exactly_the_path_given_in_its_format(tmp_path, capsys, trained):
    for name, load in (("p.npy", lambda p: np.load(p, allow_pickle=False)),
                       ("p.txt", np.loadtxt), ("p.csv", lambda p: np.loadtxt(p, delimiter=","))):
        status, out, _ = run(capsys, "sample", str(trained), "-n", "7", "-o",
                             str(tmp_path / name))
        assert status == 0 and "wrote 7 points of 8gaussians" in out and str(tmp_path / name) in out
        assert load(tmp_path / name).shape == (7, 2)
    assert sorted(os.listdir(tmp_path)) == ["p.csv", "p.npy", "p.txt"]
    np.testing.assert_allclose(np.loadtxt(tmp_path / "p.txt"), np.load(tmp_path / "p.npy"),
                               rtol=1e-7)


def test_sample_seeds(tmp_path, capsys, trained):
    def points(seed):
        path = tmp_path / ("s%d.npy" % seed)
        assert run(capsys, "sample", str(trained), "-n", "50", "--seed", str(seed), "-o",
                   str(path))[0] == 0
        return np.load(path)
    assert np.array_equal(points(1), points(1)) and not np.array_equal(points(1), points(2))


def test_sample_refuses_a_non_finite_model_and_non_finite_points(tmp_path, capsys, trained,
                                                                 monkeypatch):
    arrays, meta = checkpoint.load(trained / "checkpoint.npz")
    arrays["G/params"][0] = np.inf
    (tmp_path / "bad").mkdir()
    checkpoint.save(tmp_path / "bad" / "checkpoint.npz", arrays, meta)
    status, _, err = run(capsys, "sample", str(tmp_path / "bad"), "-o", str(tmp_path / "p.npy"))
    assert status == 1 and "NaN or inf in G/params" in one_line(err)
    monkeypatch.setattr(TrainingJob, "sample", lambda self, n, stream: self.xp.full(
        (n, 2), np.inf, dtype=self.G.dtype))
    status, _, err = run(capsys, "sample", str(trained), "-n", "4", "-o", str(tmp_path / "p.npy"))
    assert status == 2 and "4 of the 4 points are NaN or inf" in one_line(err)
    assert not (tmp_path / "p.npy").exists()


def test_a_run_too_big_to_train_here_can_still_be_sampled(tmp_path, capsys):
    """Sampling needs the networks and the rows asked for, not a training step's memory."""
    (tmp_path / "big").mkdir()
    TrainingJob(make_config(batch=10 ** 11, width=8, depth=1)).save_checkpoint(
        tmp_path / "big" / "checkpoint.npz")
    status, _, err = run(capsys, "sample", str(tmp_path / "big"), "-n", "5", "-o",
                         str(tmp_path / "p.npy"))
    assert status == 0, err
    status, _, err = run(capsys, "train", "--out", str(tmp_path / "big"), "--resume")
    assert status == 2 and "one step (batch 100000000000)" in one_line(err)


def test_sample_says_the_scale_of_digits_and_draws_them(tmp_path, capsys):
    pytest.importorskip("sklearn")
    run_dir = tmp_path / "digits"
    assert main(["train", "--dataset", "digits"] + TINY + ["--out", str(run_dir)]) == 0
    capsys.readouterr()
    status, out, _ = run(capsys, "sample", str(run_dir), "-n", "12", "-o",
                         str(tmp_path / "d.npy"), "--grid", str(tmp_path / "d.png"))
    assert status == 0 and "64 pixels in [-1, 1] each (pixel / 8 - 1" in out
    assert "drew the first 12 as an image grid in %s" % (tmp_path / "d.png") in out
    assert (tmp_path / "d.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.load(tmp_path / "d.npy").shape == (12, 64)


# ---- help that is true ---------------------------------------------------------------------------

def test_version_has_one_source(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out == "tinywgan %s\n" % tinywgan.__version__
    assert tinywgan.__version__ == "0.2.0"
    assert "version=" not in (ROOT / "setup.py").read_text().replace("version=_version()", "")


def test_help_tells_the_truth():
    top = build_parser().format_help()
    assert "``" not in top and top.count("gradcheck") == 1            # listed once
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    helps = {a.option_strings[0]: a.help for a in train._actions}
    assert "default 0" not in helps["--eval-every"]
    assert "ten times over the run" in helps["--eval-every"]
    assert "the evaluations during training use 500" in helps["--eval-n"]
    assert "wgan_paper (the WGAN paper): method=wgan" in helps["--preset"]
    assert "wgan:" not in helps["--warmup"] and "any method" in helps["--warmup"]
    assert "the checkpoint" in helps["--log-every"] and "--checkpoint-every" in helps
    assert "default nonsaturating" in helps["--gan-loss"]
    assert "relu, sigmoid, silu, softplus, tanh" in helps["--activation"]
    train.format_help()                                 # every %-format in the help works


def test_done_lists_the_files_written(tmp_path, capsys):
    status, out, _ = run(capsys, "train", *TINY, "--out", str(tmp_path / "r"))
    assert status == 0 and "figure.png" not in out and "metrics.json}" in out
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert "W1 %.4f on 100 points" % m["w1"] in out
