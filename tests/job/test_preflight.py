"""Preflight: the memory estimate is an upper bound of what training allocates (and not a wild
one), a configuration that cannot fit is refused before anything is allocated, and missing
optional libraries are named with the pip install that adds them."""
import re
import sys
import tracemalloc

import pytest

from tinywgan.job import preflight
from tinywgan.job.training import TrainingJob, make_config


@pytest.mark.parametrize("preset, fields", [
    (None, dict(width=192, batch=512, eval_n=400)),
    (None, dict(method="wgan-sn", activation="tanh", width=128, batch=512, eval_n=300)),
    (None, dict(method="wgan-lp", activation="softplus", width=64, depth=5, batch=1024,
                eval_n=200)),
    ("gan_toy", dict(iters=1, eval_n=300)),
])
def test_the_estimate_bounds_what_training_allocates(preset, fields):
    """tracemalloc sees NumPy's allocations: the peak of building the trainer, two iterations
    and an evaluation is below the estimate, and the estimate within 8 times the peak."""
    cfg = make_config(preset, **dict(dict(iters=2), **fields))
    estimate = preflight.total(preflight.estimate(cfg))
    tracemalloc.start()
    try:
        tr = TrainingJob(cfg)
        tr.train()
        tr.evaluate()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= estimate <= 8 * peak, (peak, estimate)


@pytest.mark.parametrize("field, value, part", [
    ("width", 10 ** 7, "the networks (width 10000000, depth 3)"),
    ("batch", 10 ** 11, "one step (batch 100000000000)"),
    ("eval_n", 10 ** 7, "an evaluation (10000000 points)")])
def test_a_configuration_that_cannot_fit_is_refused_before_allocating(field, value, part,
                                                                      monkeypatch):
    """The networks by Trainer itself; a step and the evaluations by the main job
    (tests/job/test_cli.py), which is what check_memory(estimate(cfg)) stands for here."""
    monkeypatch.setattr(preflight, "memory_bytes", lambda: 8 * 2 ** 30)
    cfg = make_config(**{field: value})
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"this needs about [0-9.]+ TB of memory but the "
                                             r"machine has 8.0 GB: %s [0-9.]+ TB.*; make the "
                                             r"largest smaller" % re.escape(part)):
            if field == "width":
                TrainingJob(cfg)
            else:
                preflight.check_memory(preflight.estimate(cfg))
        assert tracemalloc.get_traced_memory()[1] < 2 ** 20        # nothing big was allocated
    finally:
        tracemalloc.stop()


def test_what_the_main_job_needs():
    assert preflight.needed(make_config(), figure=True) == ["scipy", "matplotlib"]
    assert preflight.needed(make_config(), figure=False) == ["scipy"]
    assert preflight.needed(make_config(dataset="digits", device="gpu"), figure=False) == [
        "scipy", "sklearn", "cupy"]


def test_missing_libraries_are_named_with_the_install_that_adds_them(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)        # import raises ImportError
    with pytest.raises(ImportError, match=r"needs SciPy \(the exact W1 of every evaluation\), "
                                          r"not installed: pip install scipy \(in a clone of "
                                          r"tinywgan: pip install '.\[metrics\]'\)$"):
        preflight.require(["scipy", "matplotlib"], {"matplotlib": " or skip the figure"})
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"needs SciPy .* and matplotlib \(the figure\), not "
                                          r"installed: pip install scipy matplotlib \(in a clone "
                                          r"of tinywgan: pip install '.\[metrics,plot\]'\) or "
                                          r"skip the figure$"):
        preflight.require(["scipy", "matplotlib"], {"matplotlib": " or skip the figure"})
    monkeypatch.undo()
    preflight.require(["scipy", "matplotlib"])                      # present: no error
