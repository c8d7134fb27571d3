"""The bug zoo: every classic mistake, injected on a copy, is caught by its check, which passes
with the library's piece; the command prints the numbers, draws the figure and exits 1 when a
bug goes uncaught."""
import os

import pytest

from tinywgan.core import steps
from tinywgan.bugzoo import broken, zoo
from tinywgan.cli import main

from test_readme import check_reduction


def test_bugzoo_catches_every_bug(tmp_path, capsys):
    """`python -m tinywgan bugzoo`: each check passes without its bug and fails with it."""
    pytest.importorskip("matplotlib")
    figure = str(tmp_path / "zoo.png")
    assert main(["bugzoo", "--figure", figure]) == 0
    out = capsys.readouterr().out
    assert "%d of %d bugs caught." % (len(zoo.BUGS), len(zoo.BUGS)) in out
    for bug in zoo.BUGS:
        assert bug.name.upper() + ": caught" in out
    assert os.path.getsize(figure) > 10000
    check_reduction(figure, "docs/bugzoo.png", tmp_path)     # the README's copy: same layout


def test_an_uncaught_bug_fails_the_command(monkeypatch, capsys):
    """A check that cannot tell the broken piece from the library's is reported, exit status 1."""
    blind = zoo.Bug("blind check", "a bug its check cannot see", "a constant", "number", (0, 1),
                    lambda with_bug: 0.5)
    monkeypatch.setattr(zoo, "BUGS", [blind])
    assert main(["bugzoo", "--no-figure"]) == 1
    assert "NOT caught: blind check" in capsys.readouterr().out


def test_an_unknown_bug_name_is_refused(capsys):
    assert main(["bugzoo", "no such bug"]) == 2
    assert "no bug named 'no such bug'" in capsys.readouterr().err


def test_broken_copies_differ_from_the_library_in_one_piece_only():
    """copy_with swaps one looked-up name and nothing else; it refuses a name the function does
    not use (a typo would otherwise copy the library unchanged)."""
    flipped = broken.copy_with(steps.critic_grads,
                               wasserstein_critic_loss=broken.flipped_critic_loss)
    assert flipped.__code__ is steps.critic_grads.__code__
    assert flipped.__globals__["wasserstein_critic_loss"] is broken.flipped_critic_loss
    assert steps.critic_grads.__globals__["wasserstein_critic_loss"] is not \
        broken.flipped_critic_loss
    with pytest.raises(ValueError, match="does not look up"):
        broken.copy_with(steps.critic_grads, no_such_name=None)
