"""The bug zoo: every classic mistake, injected on a copy, is caught by its check, which passes
with the library's piece; the command prints the numbers, draws the figure and exits 1 when a
bug goes uncaught."""
import inspect
import os
import pathlib

import pytest

from tinywgan.core import optim, steps
from tinywgan.bugzoo import broken, zoo
from tinywgan.cli import main
from tinywgan.exercises import EXERCISES
from tinywgan.exercises.grader import reference

from test_readme import check_reduction


def test_bugzoo_catches_every_bug(tmp_path, capsys):
    """`python -m tinywgan bugzoo`: each check passes without its bug and fails with it."""
    pytest.importorskip("matplotlib")
    figure = str(tmp_path / "zoo.png")
    assert main(["bugzoo", "--figure", figure]) == 0
    out = capsys.readouterr().out
    assert len(zoo.BUGS) >= 16
    assert "%d of %d bugs caught." % (len(zoo.BUGS), len(zoo.BUGS)) in out
    words = " ".join(out.split())                               # the paragraphs, unwrapped
    for bug in zoo.BUGS:
        assert bug.name.upper() + ": caught" in out
        assert not bug.seen or "seen in " + bug.seen in words, bug.name
    assert os.path.getsize(figure) > 10000
    check_reduction(figure, "docs/bugzoo.png", tmp_path)     # the README's copy: same layout


def test_the_bugs_seen_in_public_code_are_listed_in_the_readme():
    """Each bug that names where it was seen has its line in the README's list of them, and
    that list has no other."""
    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text()
    listed = readme.split("were seen in public code")[1].split("\n## ")[0]
    seen = [bug.name for bug in zoo.BUGS if bug.seen]
    assert len(seen) >= 8
    assert [name for name in seen if name + ":" not in listed] == []
    assert listed.count("\n- ") == len(seen)


def test_an_uncaught_bug_fails_the_command(monkeypatch, capsys):
    """A check that cannot tell the broken piece from the library's is reported, exit status 1."""
    blind = zoo.Bug("blind check", "a bug its check cannot see", "a constant", "number", (0, 1),
                    lambda piece: 0.5, steps.update_critic,
                    broken.find(broken.UPDATE_CRITIC, "clipped before the step"))
    monkeypatch.setattr(zoo, "BUGS", [blind])
    assert main(["bugzoo", "--no-figure"]) == 1
    assert "NOT caught: blind check" in capsys.readouterr().out


def test_an_unknown_bug_name_is_refused(capsys):
    assert main(["bugzoo", "no such bug"]) == 2
    assert "no bug named 'no such bug'" in capsys.readouterr().err


def test_broken_copies_differ_from_the_library_in_one_piece_only():
    """copy_with swaps one looked-up name and nothing else; it refuses a name the function does
    not use (a typo would otherwise copy the library unchanged), as it and step_with refuse a
    method the class or the MLP does not have."""
    flipped = broken.copy_with(steps.critic_grads,
                               critic_loss=broken.flipped_critic_choice)
    assert flipped.__code__ is steps.critic_grads.__code__
    assert flipped.__globals__["critic_loss"] is broken.flipped_critic_choice
    assert steps.critic_grads.__globals__["critic_loss"] is not \
        broken.flipped_critic_choice
    with pytest.raises(ValueError, match="does not look up"):
        broken.copy_with(steps.critic_grads, no_such_name=None)
    with pytest.raises(ValueError, match="has no method"):
        broken.copy_with(optim.Adam, no_such_method=None)
    with pytest.raises(ValueError, match="an MLP has no method"):
        broken.step_with(steps.critic_grads, no_such_method=None)


def test_a_broken_class_differs_in_its_method_only():
    """copy_with on a class: a subclass with the one method named swapped."""
    def update(self, p, g, t):
        p -= g
    Broken = broken.copy_with(optim.Adam, _update=update)
    assert issubclass(Broken, optim.Adam) and vars(Broken)["_update"] is update
    assert [name for name in vars(Broken) if not name.startswith("__")] == ["_update"]


def test_the_zoo_and_the_grader_share_one_catalogue():
    """Every bug of the zoo and every known mistake of the exercises is an entry of the one
    catalogue (the object itself, not a copy of it), and every entry is used by one of them."""
    def entry(m):
        return any(m is c for c in broken.CATALOGUE)
    assert all(entry(bug.mistake) for bug in zoo.BUGS), \
        [bug.name for bug in zoo.BUGS if not entry(bug.mistake)]
    used = {id(bug.mistake) for bug in zoo.BUGS} | {id(m) for ex in EXERCISES
                                                     for m in ex.mistakes}
    assert [m.name for m in broken.CATALOGUE if id(m) not in used] == []
    assert len({id(m) for m in broken.CATALOGUE}) == len(broken.CATALOGUE)


def _parameters(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def _takes_the_pieces_arguments(copy, piece):
    """The copy's parameters begin with the piece's (names, kinds, defaults); any more are
    switches with a default."""
    mine, theirs = _parameters(copy), _parameters(piece)
    return mine[:len(theirs)] == theirs and all(
        default is not inspect.Parameter.empty for _, _, default in mine[len(theirs):])


def _pairs():
    """(what, broken copy, the piece it breaks) for every exercise's known mistake and every bug
    whose piece is a function; the MLP's exercises are functions of the net, not methods."""
    for ex in EXERCISES:
        ref = reference(ex)
        if ex.method:
            for m in ex.mistakes:
                yield ex.name + ": " + m.name, getattr(m.obj, ex.method), getattr(ref, ex.method)
        elif ex.reference.partition(":")[2] == ref.__name__:
            for m in ex.mistakes:
                yield ex.name + ": " + m.name, m.obj, ref
    for bug in zoo.BUGS:
        if callable(bug.library):
            yield "zoo: " + bug.name, bug.mistake.obj, bug.library


def test_a_broken_copy_takes_the_arguments_of_the_piece_it_breaks():
    """broken.py's promise: a check or the grader calls a copy exactly as the original (the
    copies of critic_grads take r1 and r2, those of generator_grads noise)."""
    pairs = list(_pairs())
    assert len(pairs) > 60
    assert [what for what, copy, piece in pairs if not _takes_the_pieces_arguments(copy, piece)] \
        == []
