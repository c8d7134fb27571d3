"""Resume: a checkpoint is checked whole before use, a resumed run takes the changes it can and
refuses the others by name, and with no change it is bit-identical to an uninterrupted run
(tests/job/test_train.py::test_resume_is_bit_identical)."""
import dataclasses
import re

import numpy as np
import pytest

from tinywgan import backend
from tinywgan.job import checkpoint
from tinywgan.job.checkpoint import CheckpointError
from tinywgan.job.resume import FIXED
from tinywgan.job.training import TrainingJob, make_config

SMALL = dict(width=8, depth=2, batch=16, log_every=50, lr_decay=False)


def _params(tr):
    return np.concatenate([backend.to_numpy(tr.G.params), backend.to_numpy(tr.D.params)])


def test_extending_a_finished_run_equals_the_longer_run(tmp_path, device):
    """A finished 100-iteration run resumed with iters=200 lands on the 200-iteration run's
    parameters bit for bit (constant learning rates, so the schedules agree)."""
    whole = TrainingJob(make_config(iters=200, device=device, **SMALL))
    whole.train()
    short = TrainingJob(make_config(iters=100, device=device, **SMALL))
    short.train()
    short.save_checkpoint(tmp_path / "c.npz")
    longer = TrainingJob.from_checkpoint(tmp_path / "c.npz", changes={"iters": 200})
    assert (longer.t, longer.cfg.iters, longer.changed) == (100, 200, {"iters": (100, 200)})
    longer.train()
    assert np.array_equal(_params(longer), _params(whole))


def test_a_changed_learning_rate_is_applied_not_ignored(tmp_path):
    tr = TrainingJob(make_config(iters=100, **SMALL))
    tr.train(iters=50)
    tr.save_checkpoint(tmp_path / "c.npz")
    saved = _params(tr)
    frozen = TrainingJob.from_checkpoint(tmp_path / "c.npz", changes={"lr_d": 1e-30, "lr_g": 1e-30})
    frozen.train()
    assert frozen.t == 100 and np.abs(_params(frozen) - saved).max() < 1e-20
    plain = TrainingJob.from_checkpoint(tmp_path / "c.npz")
    plain.train()
    assert np.abs(_params(plain) - saved).max() > 1e-4


def test_seconds_accumulate_across_sessions(tmp_path):
    tr = TrainingJob(make_config(iters=100, **SMALL))
    tr.train(iters=50)
    first = tr.seconds
    tr.save_checkpoint(tmp_path / "c.npz")
    again = TrainingJob.from_checkpoint(tmp_path / "c.npz")
    assert again.seconds == first > 0
    again.train()
    assert again.seconds > first and again.history[-1]["seconds"] > first


@pytest.mark.parametrize("field, value", [
    ("method", "wgan-lp"), ("dataset", "swissroll"), ("width", 16), ("depth", 3), ("latent", 3),
    ("activation", "tanh"), ("optimizer", "sgd"), ("dtype", "float64"), ("seed", 1),
    ("ema", 0.5)])
def test_what_defines_the_state_cannot_change(tmp_path, field, value):
    assert field in FIXED
    tr = TrainingJob(make_config(iters=20, **SMALL))
    tr.save_checkpoint(tmp_path / "c.npz")
    with pytest.raises(ValueError, match=r"a resumed run cannot change %s %s -> %s"
                       % (field, "adam" if field == "optimizer" else getattr(tr.cfg, field),
                          value)):
        TrainingJob.from_checkpoint(tmp_path / "c.npz", changes={field: value})


def test_everything_else_can_change_and_the_method_s_own_optimizer_is_no_change(tmp_path):
    tr = TrainingJob(make_config(iters=20, **SMALL))
    tr.save_checkpoint(tmp_path / "c.npz")
    changes = dict(iters=40, batch=8, n_critic=2, lam=3.0, r1=0.5, r2=0.25, clip=0.1, lr_d=1e-3,
                   lr_g=1e-4, betas=(0.0, 0.99), lr_decay=True, warmup=True, gan_loss="minimax",
                   log_every=5, checkpoint_every=10, eval_every=10, eval_n=100, curve_n=50,
                   optimizer="adam", device="strict", fast=False, threads=2)
    back = TrainingJob.from_checkpoint(tmp_path / "c.npz", changes=changes)
    for k, v in changes.items():
        assert getattr(back.cfg, k) == v, k
    assert "optimizer" not in back.changed and back.changed["iters"] == (20, 40)
    unlisted = {f.name for f in dataclasses.fields(back.cfg)} - set(changes) - set(FIXED)
    assert not unlisted, "fields neither fixed nor tested as changeable: %s" % unlisted


def test_a_run_cannot_go_back(tmp_path):
    tr = TrainingJob(make_config(iters=40, **SMALL))
    tr.train(iters=30)
    tr.save_checkpoint(tmp_path / "c.npz")
    with pytest.raises(ValueError, match="iters = 20 is below the 30 iterations"):
        TrainingJob.from_checkpoint(tmp_path / "c.npz", changes={"iters": 20})
    assert TrainingJob.from_checkpoint(tmp_path / "c.npz", changes={"iters": 30}).t == 30


# ---- a checkpoint is checked whole, before use ---------------------------------------------------

def _altered(tmp_path, method="wgan-gp", arrays=None, meta=None):
    """A checkpoint of a trained run with some arrays or meta entries replaced."""
    tr = TrainingJob(make_config(method=method, iters=20, **SMALL))
    tr.train(iters=3)
    state = tr.state_arrays()
    state.update(arrays or {})
    info = {"config": dataclasses.asdict(tr.cfg), "t": tr.t, "seconds": 1.0}
    info.update(meta or {})
    path = tmp_path / "c.npz"
    checkpoint.save(path, {k: v for k, v in state.items() if v is not None}, info)
    return path, tr


@pytest.mark.parametrize("dtype", [np.int64, np.complex64, np.float64, np.float16])
def test_parameters_of_another_dtype_are_refused_not_cast(tmp_path, dtype):
    tr = TrainingJob(make_config(iters=20, **SMALL))
    path, _ = _altered(tmp_path, arrays={"G/params": tr.G.params.astype(dtype)})
    with pytest.raises(CheckpointError, match=r"c.npz.*G/params: expected dtype float32, "
                                              r"found %s" % np.dtype(dtype)):
        TrainingJob.from_checkpoint(path)


@pytest.mark.parametrize("name", ["G/params", "D/params", "opt_d/m", "opt_g/v"])
def test_non_finite_numbers_are_refused(tmp_path, name):
    tr = TrainingJob(make_config(iters=20, **SMALL))
    tr.train(iters=3)
    bad = np.array(tr.state_arrays()[name])
    bad[1] = np.nan
    path, _ = _altered(tmp_path, arrays={name: bad})
    with pytest.raises(CheckpointError, match=r"c.npz: NaN or inf in %s \(1 of" % name):
        TrainingJob.from_checkpoint(path)


def test_an_optimizer_state_of_the_wrong_shape_is_found_at_load_not_at_the_first_step(
        tmp_path):
    path, _ = _altered(tmp_path, arrays={"opt_d/m": np.zeros(5, np.float32)})
    with pytest.raises(CheckpointError, match=r"c.npz does not match the config it holds "
                       r".*opt_d/m: expected shape \(105,\), found \(5,\)"):
        TrainingJob.from_checkpoint(path)


def test_spectral_norm_vectors_are_checked(tmp_path):
    path, _ = _altered(tmp_path, method="wgan-sn", arrays={"D/sn_u0": np.zeros(3, np.float32)})
    with pytest.raises(CheckpointError, match=r"D/sn_u0: expected shape \(2,\), found \(3,\)"):
        TrainingJob.from_checkpoint(path)


@pytest.mark.parametrize("meta, match", [
    ({"t": -1}, r"t = -1 is not an int in \[0, 20\]"),
    ({"t": 21}, r"t = 21 is not an int in \[0, 20\]"),
    ({"t": 2.5}, r"t = 2.5 is not an int"),
    ({"t": True}, r"t = True is not an int"),
    ({"seconds": -3.0}, r"training time -3.0 is not a number >= 0"),
    ({"seconds": "1"}, r"training time '1' is not a number"),
    ({"config": {"width": -4}}, r"its config is not valid here .*width"),
    ({"config": {"colour": "red"}}, r"its config is not valid here .*unknown config fields"),
])
def test_the_meta_s_ranges_are_checked(tmp_path, meta, match):
    path, tr = _altered(tmp_path)
    if "config" in meta:
        meta = {"config": dict(dataclasses.asdict(tr.cfg), **meta["config"])}
    path, _ = _altered(tmp_path, meta=meta)
    with pytest.raises(CheckpointError, match=match):
        TrainingJob.from_checkpoint(path)


def test_an_optimizer_step_counter_below_zero_is_refused(tmp_path):
    path, _ = _altered(tmp_path, arrays={"opt_g/t": np.array(-2)})
    with pytest.raises(CheckpointError, match=r"opt_g: the step counter d\['t'\] must be an int "
                                              r">= 0"):
        TrainingJob.from_checkpoint(path)


# ---- hostile checkpoints: everything is checked before anything is allocated for it ----------
def _zip(path, members, meta, bomb=None):
    """A checkpoint zip written by hand: ``members`` {name: array} deflated, the meta and the
    version; ``bomb`` (name, n): a float32 member of n zeros streamed in (it compresses 1030:1)."""
    import json
    import warnings
    import zipfile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")         # zipfile warns of a duplicate name
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            for name, a in members:
                with zf.open(name + ".npy", "w", force_zip64=True) as m:
                    np.lib.format.write_array(m, np.asarray(a), allow_pickle=False)
            if bomb:
                with zf.open(bomb[0] + ".npy", "w", force_zip64=True) as m:
                    np.lib.format.write_array_header_1_0(
                        m, {"descr": "<f4", "fortran_order": False, "shape": (bomb[1],)})
                    zeros = bytes(1 << 22)
                    for _ in range(bomb[1] * 4 // len(zeros)):
                        m.write(zeros)
            for name, a in (("__format_version__", np.array(1)),
                            ("__meta__", np.frombuffer(json.dumps(meta).encode(), np.uint8))):
                with zf.open(name + ".npy", "w") as m:
                    np.lib.format.write_array(m, a, allow_pickle=False)
    return path


def _peak(fn):
    """(the exception fn raised, tracemalloc's peak in bytes while it ran)."""
    import tracemalloc
    tracemalloc.start()
    try:
        fn()
    except Exception as e:                  # noqa: BLE001 - returned to the test
        error = e
    else:
        error = None
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return error, peak


def _fresh():
    tr = TrainingJob(make_config(iters=20, **SMALL))
    tr.train(iters=3)
    return tr, {"config": dataclasses.asdict(tr.cfg), "t": tr.t, "seconds": 1.0}


def test_a_zip_bomb_is_refused_from_its_header_without_decompressing_it(tmp_path):
    """A 256 MB member of zeros in a 250 KB zip (the 1 MB / 1 GB bomb of issue 22, smaller to
    stay fast): refused from the declared shape, with a peak under 4 MB (it took the whole
    declared size before: a 1 MB bomb 1 GB, a 4 MB one 4 GB)."""
    tr, meta = _fresh()
    members = [(k, v) for k, v in tr.state_arrays().items() if k != "G/params"]
    path = _zip(tmp_path / "bomb.npz", members, meta, bomb=("G/params", 1 << 26))
    assert path.stat().st_size < 1 << 20
    error, peak = _peak(lambda: TrainingJob.from_checkpoint(path))
    assert isinstance(error, CheckpointError) and "\n" not in str(error)
    assert re.search(r"G/params: expected shape \(\d+,\), found \(67108864,\)", str(error))
    assert peak < 4 << 20, peak


def test_a_bomb_under_an_unexpected_name_is_refused_before_it_is_read(tmp_path):
    tr, meta = _fresh()
    path = _zip(tmp_path / "bomb.npz", list(tr.state_arrays().items()), meta,
                bomb=("extra", 1 << 26))
    error, peak = _peak(lambda: TrainingJob.from_checkpoint(path))
    assert isinstance(error, CheckpointError) and "unexpected extra" in str(error)
    assert peak < 4 << 20, peak


@pytest.mark.parametrize("field, value, match", [
    ("depth", 10 ** 6, "depth must be at most 1024"),
    ("iters", 10 ** 30, "iters must be at most 1000000000"),
    ("n_critic", 10 ** 9, "n_critic must be at most 10000"),
    ("width", 10 ** 9, r"G/params: expected shape \(\d{19},\), found \(114,\)"),
    ("latent", 10 ** 12, r"G/params: expected shape \(\d{13},\), found \(114,\)")])
def test_an_oversized_config_is_refused_before_any_network_is_built(tmp_path, field, value,
                                                                      match):
    """depth 10^6 built networks of 3.4 GB before it was refused; 10^30 iterations trained on.
    Widths are bounded by arithmetic: the arrays they imply are compared before any is read."""
    tr, meta = _fresh()
    meta["config"][field] = value
    path = _zip(tmp_path / "c.npz", list(tr.state_arrays().items()), meta)
    error, peak = _peak(lambda: TrainingJob.from_checkpoint(path))
    assert isinstance(error, CheckpointError) and "\n" not in str(error)
    assert re.search(match, str(error)), error
    assert peak < 4 << 20, peak


@pytest.mark.parametrize("arrays, match", [
    ({"opt_d/v": -np.ones(105, np.float32)}, r"opt_d: Adam.load_state_dict: d\['v'\] holds "
                                             r"negative numbers"),
    ({"opt_g/t": np.array(2 ** 62)}, r"opt_g: the step counter .* <= 2\^53"),
    ({"opt_g/t": np.array(3, np.uint64)}, r"opt_g: the step counter .*signed integer type"),
])
def test_hostile_optimizer_states_are_refused(tmp_path, arrays, match):
    tr, meta = _fresh()
    state = dict(tr.state_arrays(), **arrays)
    path = _zip(tmp_path / "c.npz", list(state.items()), meta)
    with pytest.raises(CheckpointError, match=match):
        TrainingJob.from_checkpoint(path)


def test_a_duplicate_member_is_refused(tmp_path):
    """zipfile's reader takes the last of two members of one name: refused, whichever."""
    tr, meta = _fresh()
    items = list(tr.state_arrays().items())
    path = _zip(tmp_path / "c.npz", items + [("G/params", np.zeros_like(tr.G.params))], meta)
    with pytest.raises(CheckpointError, match=r"holds the member\(s\) G/params.npy twice"):
        TrainingJob.from_checkpoint(path)


@pytest.mark.parametrize("activation", ["leaky_relu:1e-320", "leaky_relu:1e-9"])
def test_a_leaky_slope_outside_its_documented_range_is_refused(tmp_path, activation):
    tr, meta = _fresh()
    meta["config"]["activation"] = activation
    path = _zip(tmp_path / "c.npz", list(tr.state_arrays().items()), meta)
    with pytest.raises(CheckpointError, match=r"a leaky_relu slope is 0 or in \[1e-06, 1\)"):
        TrainingJob.from_checkpoint(path)
    make_config(activation="leaky_relu:0")      # 0 (ReLU) and 1e-6 stay allowed
    make_config(activation="leaky_relu:1e-6")
