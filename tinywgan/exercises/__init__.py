r"""Exercises: the learner writes tinywgan's backward passes, up to the gradient penalty's double
backward, and tinywgan grades them.

    python -m tinywgan exercises init DIR            # write the workbook (five files)
    python -m tinywgan exercises check DIR [NAME..]  # grade what is written
    python -m tinywgan exercises show NAME           # where tinywgan's answer lives
    python -m tinywgan exercises list                # the exercises, in teaching order
    python -m tinywgan exercises check --reference   # grade tinywgan's own answers
    python -m tinywgan exercises check --strict --json DIR   # a course's grading: not started
                                                     # fails; one JSON object

or ``check(globals())`` in a workbook opened as a notebook (its last cell does).

Each exercise is a function (``linear_backward(da, cache)``) or a method (``Tanh.df``,
``Adam._update``) with tinywgan's own signature and contract, so tinywgan's own code is a
solution: ``--reference`` grades it with the same grader, and pasting it into the workbook
passes. The grader (``tinywgan.exercises.grader``) runs each on several random cases in float64
and compares it with tinywgan's answer and with finite differences; on a failure it names the
output, the case, the term, a straddled ReLU kink, and a known mistake the answer matches.

``check`` grades a folder sealed (``sealed``): each workbook file imported and run in a child
process of its own, with a time limit per exercise, while the cases, tinywgan's answers and the
verdict are computed in the grader's process, which never imports the learner's code.

The cases are drawn from a NumPy generator seeded with the run's seed and the exercise's name,
so a run repeats, and ``--seed`` draws others; NumPy stays the only dependency. The test suite
drives the grader with hypothesis over many seeds.

Modules: ``spec`` (what an exercise is), ``ex_layers``, ``ex_mlp``, ``ex_penalty``,
``ex_steps``, ``ex_optim`` (the exercises of each workbook file: cases, differences, and the
known mistakes they take from the catalogue of known mistakes, ``tinywgan.bugzoo.broken``),
``catalogue`` (all the exercises, in order), ``grader``, ``sealed`` (the child processes),
``workbook`` (the files, and a newer notebook read with jupytext), ``cli``.
"""
import inspect
import os
import tempfile

from .catalogue import EXERCISES, FILES, find
from .grader import FAIL, NOT_STARTED, Result, format_results, grade, reference_function, \
    solution, summary

__all__ = ["EXERCISES", "FILES", "check", "check_reference", "find", "show"]


def check(source, names=None, seed=0, out=print, limit=None):
    """Grade a workbook: ``source`` is its folder, each file graded sealed in a child process
    of its own (``sealed``; ``limit``: the seconds each exercise may run, default
    ``sealed.TIME_LIMIT``), or a namespace (a notebook's ``globals()``, graded in this process,
    where only the exercises it defines are graded unless ``names`` are given). ``names``: the
    exercises to grade (default all). Prints the table with ``out`` (None: silent).
    Returns the list of ``grader.Result``."""
    chosen = [find(n) for n in names] if names else list(EXERCISES)
    if isinstance(source, dict):
        if not names:
            chosen = [ex for ex in chosen if ex.owner in source]
        results, notes = _in_process(source, chosen, seed)
    else:
        from . import sealed, workbook
        folder = os.fspath(source)
        with tempfile.TemporaryDirectory(prefix="tinywgan-notebooks-") as scratch:
            files = {file: workbook.source(folder, file, scratch) for file in FILES}
            results, notes = sealed.grade_files(files, chosen, seed, limit or sealed.TIME_LIMIT)
    _report(results, notes, chosen, out)
    return results


def _in_process(namespace, chosen, seed):
    """Grade the exercises ``chosen`` from a namespace, in this process."""
    notes, results = [], []
    for ex in chosen:
        obj, stub, note = solution(ex, namespace)
        notes += [note] if note else []
        results.append(grade(ex, obj, stub, seed) if obj is not None
                       else Result(ex.name, NOT_STARTED))
    return results, notes


def _report(results, notes, chosen, out):
    if out is not None:
        for note in dict.fromkeys(notes):
            out(note)
        out(format_results(results) if results else "no exercises here")
        out("\n" + summary(results, {ex.name: ex.file for ex in chosen}))


def check_reference(names=None, seed=0, out=print):
    """Grade tinywgan's own answers with the same grader, sealed as a workbook is (every one
    should pass)."""
    from . import sealed
    chosen = [find(n) for n in names] if names else list(EXERCISES)
    results, notes = sealed.grade_files({file: (None, None, None) for file in FILES}, chosen,
                                        seed)
    _report(results, notes, chosen, out)
    return results


def show(name):
    """Where tinywgan's answer to the exercise ``name`` lives, and what the grader checks."""
    ex = find(name)
    fn = reference_function(ex)
    path = inspect.getsourcefile(fn)
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cases = ex.cases(ex.rng(0))
    parts = list(dict.fromkeys(c.part for c in cases))
    return "\n".join([
        "%s: %s" % (ex.name, ex.teaches),
        "  workbook file:      %s" % ex.file,
        "  tinywgan's answer:  %s, %s (line %d)" % (os.path.relpath(path, package_parent),
                                                   fn.__qualname__, inspect.getsourcelines(fn)[1]),
        "  graded against:     tinywgan's answer%s, on %d cases: %s" % (
            " and finite differences" if ex.differences else "", len(cases),
            "; ".join("%s (%d)" % (p, sum(c.part == p for c in cases)) for p in parts)),
        "  known mistakes:     %s" % ("; ".join(m.name for m in ex.mistakes) or "-")])
