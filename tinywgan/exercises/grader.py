r"""The grader: runs a solution on an exercise's cases, in float64, and compares each output with
tinywgan's answer and with centred finite differences of the contract's own function.

An exercise passes when, on every case, every output has the right shape and dtype (tinywgan's
answer's: float32 cases keep float32) and is within a relative error of 1e-6 (CS231n's,
``finitediff.rel_error``; the case's ``tol``, 1e-5 in float32) of tinywgan's answer and of the
differences. On a failure it says where:

- which output (dW[1], db, dx, a shape or a dtype) and in which case;
- which term, when the cases come in parts (ReLU nets against smooth ones: the penalty's
  first-order path against its s'' injection; the critic's step for 'wgan' alone, the
  Wasserstein term, against 'wgan-gp', the penalty added); for the penalty also the s''
  injection alone;
- whether a case straddles a ReLU kink: a pre-activation within reach of the differences' step
  (``spec.KINK_REACH``), where they measure the average of two slopes. Then a failure would be
  the check, not the code: the case is graded against tinywgan's answer alone, and it says so
  (as it does for any case where the differences disagree with tinywgan's answer);
- what the wrong output is, computed from the numbers (``diagnose``): exactly the negative, a
  constant factor, the transpose, zero, right in the body and wrong in the tails (from which
  a), right in float64 only, right only at N = 1 (or one eps);
- a hint, when the solution's outputs equal a known mistake's (the catalogue's
  ``bugzoo.broken.Mistake``) in every case, in each output that mistake changes in some case:
  a mistake is named only where the cases tell it apart.

``NotImplementedError`` raised by the exercise's own stub means "not started".
"""
import importlib
import math
import os
import textwrap
import traceback
from dataclasses import dataclass, field

import numpy as np

from ..measure.finitediff import TOL, compare
from . import diagnose
from .spec import H_KINKED, KINK_REACH, ContractError, Said, portable, said, state

NOT_STARTED, PASS, FAIL = "not started", "pass", "FAIL"
_LIBRARY_DIRS = (os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                 os.path.dirname(np.__file__))


@dataclass
class Result:
    name: str
    status: str                                  # NOT_STARTED, PASS or FAIL
    err_fd: float = math.nan                     # largest relative error against differences
    err_lib: float = math.nan                    # largest relative error against tinywgan's
    cases: int = 0
    lines: list = field(default_factory=list)    # where it fails, which term, notes
    hints: list = field(default_factory=list)    # the names of the known mistakes it matches
    diagnoses: list = field(default_factory=list)   # what the numbers say (also in lines)
    failing: int = 0                             # the first failing case (1-based), 0: none
    printed: str = ""                            # what the learner's code printed, cut short


class _NotStarted(Exception):
    pass


class _Failure(Exception):
    pass


def reference(ex):
    """tinywgan's answer to ``ex``: the function, or the class whose method it is."""
    module, _, qualname = ex.reference.partition(":")
    obj = importlib.import_module(module)
    parts = qualname.split(".")
    for part in parts[:-1] if ex.method else parts:
        obj = getattr(obj, part)
    return obj


def reference_function(ex):
    """The library's function or method itself (for ``exercises show``)."""
    obj = reference(ex)
    return getattr(obj, ex.method) if ex.method else obj


def solution(ex, namespace):
    """(obj, stub, note): the workbook's function, or the class and its method, from a
    namespace, note None; obj None when it is not there, with a note where the class is there
    without its method."""
    obj = namespace.get(ex.owner)
    if obj is None:
        return None, None, None
    if ex.method:
        fn = vars(obj).get(ex.method) if isinstance(obj, type) else None
        if fn is None:
            return None, None, "%s: %s has no %s of its own (was the stub deleted?)" % (
                ex.file, ex.owner, ex.method)
        return obj, fn, None
    return obj, obj, None


# ---- running a solution ------------------------------------------------------------------------
#
# A solution's try on a case is a dict that holds numbers and words only (it crosses from the
# learner's process to the grader's as JSON and .npz, ``sealed``): {"ran": {output: array or
# Said}, "after": {input: array}}, {"not started": True} or {"failed": sentence}.

def attempt(ex, obj, stub, cases):
    """Run ``obj`` (``stub``: its function) on each case, in order, until one does not run.
    Returns the tries (above): the outputs, and each input as the call left it."""
    tries = []
    for case in cases:
        args = case.build()
        try:
            got = _run(ex, obj, stub, args)
        except _NotStarted:
            tries.append({"not started": True})
            break
        except _Failure as e:
            tries.append({"failed": str(e)})
            break
        tries.append({"ran": {name: portable(v) for name, v in got.items()},
                      "after": {name: np.array(v) for name, v in state(args, ex.inputs).items()}})
    return tries


def _run(ex, obj, stub, args):
    """ex.run(obj, args), with a learner's error turned into a sentence."""
    with np.errstate(all="ignore"):
        try:
            return ex.run(obj, args)
        except NotImplementedError as e:
            frames = list(traceback.walk_tb(e.__traceback__))
            if stub is not None and frames and frames[-1][0].f_code is stub.__code__:
                raise _NotStarted() from None
            raise _Failure(_where(e) + " (an exercise it calls is not started yet?)") from None
        except ContractError as e:
            raise _Failure(str(e)) from None
        except SystemExit as e:                     # sys.exit() in the learner's code
            raise _Failure("called sys.exit(%s)" % _code(e) + _at(e)) from None
        except BaseException as e:                  # the learner's code: any error at all,
            raise _Failure(_where(e)) from None     # KeyboardInterrupt included


def _code(e):
    try:
        return repr(e.code) if e.code is not None else ""
    except BaseException:
        return "..."


def _where(e):
    """'raised TypeError: ... (at 01_layers.py, line 40, in linear_backward)'."""
    return "raised " + said(e) + _at(e)


def _at(e):
    mine = [s for s in traceback.extract_tb(e.__traceback__)
            if not os.path.abspath(s.filename).startswith(_LIBRARY_DIRS)]
    if not mine:
        return ""
    s = mine[-1]
    return " (at %s, line %d, in %s)" % (os.path.basename(s.filename), s.lineno, s.name)


# ---- comparing ---------------------------------------------------------------------------------

def _rel_error(a, b, floor=1e-8):
    """CS231n's relative error, where equal non-finite entries (NaN and NaN, inf and inf) agree
    and any other non-finite entry is an infinite error."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    finite = np.isfinite(a) & np.isfinite(b)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    if (~finite & ~same).any():
        return math.inf
    floor = np.broadcast_to(floor, a.shape)[finite]
    a, b = a[finite], b[finite]
    return float(np.max(np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b)), initial=0.0))


def _checked(value, want):
    """The value (an output of a try) as an array, or a sentence saying why it cannot be
    compared with ``want`` (not an array of numbers, its shape, its dtype)."""
    a = portable(value)
    if isinstance(a, Said):
        return None, str(a)
    if a.shape != want.shape:
        return None, "has shape %s, expected %s" % (a.shape, want.shape)
    if a.dtype != want.dtype:
        return None, "has dtype %s, expected %s" % (a.dtype, want.dtype)
    return a, None


def _fd_error(value, numeric):
    err = compare("", value, numeric)["error"]
    return math.inf if math.isnan(err) else err


@dataclass
class _Record:
    case: int                       # 1-based
    output: str
    err_lib: float
    err_fd: object                  # None: not differenced (or the differences were unreliable)
    problem: object                 # None, or a sentence (shape, dtype, not an array)
    tol: float = TOL                # the case's

    @property
    def ok(self):
        return self.problem is None and self.err_lib < self.tol and (self.err_fd is None
                                                                      or self.err_fd < self.tol)


def grade(ex, obj, stub, seed=0):
    """Grade ``obj`` (the workbook's function or class; ``stub``: its function) on the cases of
    ``ex`` drawn with ``seed``, in this process. Returns a Result."""
    cases = ex.cases(ex.rng(seed))
    return judge(ex, cases, attempt(ex, obj, stub, cases))


def judge(ex, cases, tries):
    """The verdict on a solution's ``tries`` (``attempt``'s, from this process or a sealed
    one) at ``ex``'s ``cases``: each against tinywgan's answer and the differences, computed
    here, and each input against a fresh copy of it. Returns a Result."""
    ref = reference(ex)
    records, answers, notes, changed = [], {}, [], {}
    for k, (case, tried) in enumerate(zip(cases, tries), 1):
        if "not started" in tried:
            if k == 1:
                return Result(ex.name, NOT_STARTED)
            return Result(ex.name, FAIL, cases=len(cases), failing=k, lines=[
                "raised NotImplementedError on case %d (%s)" % (k, case.label)])
        if "failed" in tried:
            return Result(ex.name, FAIL, cases=len(cases), failing=k,
                          lines=["case %d (%s): %s" % (k, case.label, tried["failed"])])
        with np.errstate(all="ignore"):
            want = {n: _answer(v) for n, v in ex.run(ref, case.build()).items()}
        got = tried["ran"]
        answers[k] = (got, want)
        for name in _changed(ex, case, tried["after"]):
            changed.setdefault(name, k)
        straddles = case.kink_margin < KINK_REACH
        if straddles and ex.differences and case.differences:
            notes.append(_straddled(k, case))
        numeric = ex.differences(case.build()) \
            if ex.differences and case.differences and not straddles else {}
        for name, w in want.items():
            a, problem = _checked(got.get(name), w)
            err_lib = math.inf if problem else _rel_error(a, w, case.floor)
            err_fd = math.inf if problem and name in numeric else None
            if name in numeric and problem is None:
                trust = _fd_error(w, numeric[name])
                if trust < TOL:
                    err_fd = _fd_error(a, numeric[name])
                else:
                    notes.append(_unreliable(k, case, name, trust))
            records.append(_Record(k, name, err_lib, err_fd, problem, case.tol))
    result = Result(ex.name, PASS, cases=len(cases),
                    err_lib=max(r.err_lib for r in records),
                    err_fd=max((r.err_fd for r in records if r.err_fd is not None),
                               default=math.nan))
    if changed:
        result.status, result.failing = FAIL, min(changed.values())
        result.lines = ["case %d (%s): the call changed its input %s in place; the contract "
                        "leaves it as it was (work on a copy: x = x * ..., not x *= ...)"
                        % (k, cases[k - 1].label, name) for name, k in changed.items()]
    failing = [r for r in records if not r.ok]
    if failing:
        result.status, result.failing = FAIL, min(r.case for r in failing)
        result.diagnoses = diagnose.explain(cases, [(r.case, r.output) for r in failing],
                                            answers)
        result.lines += _where_lines(failing, cases) + result.diagnoses \
            + _part_lines(cases, records) + _split_lines(ex, cases, failing, answers)
        for mistake, outputs in _matching_mistakes(ex, cases, failing, answers):
            result.hints.append(mistake.name)
            result.lines.append("hint: %s (matches your %s): %s"
                                % (mistake.name, ", ".join(outputs), mistake.hint))
    result.lines += list(dict.fromkeys(notes))
    return result


def _changed(ex, case, after):
    """The inputs a call changed though the contract leaves them (not in ``ex.writes``): each
    input as the call left it (``after``) against a fresh copy."""
    before = state(case.build(), ex.inputs)
    return [name for name, b in before.items()
            if not name.startswith(ex.writes) and not _same(after.get(name), b)]


def _same(a, b):
    """Bit for bit, NaN as NaN (the same code builds both, in the same BLAS)."""
    return isinstance(a, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype and \
        np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def _answer(value):
    """tinywgan's output as an array of its own float dtype (float64 for a Python number)."""
    a = np.asarray(value)
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def _straddled(k, case):
    return ("note: case %d (%s) straddles a ReLU kink: a pre-activation is %.2g from 0, within "
            "reach of the differences' step (%g), where they measure the average of two slopes, "
            "not a gradient. A failure there would be the check, not the code: the case is "
            "graded against tinywgan's answer alone." % (k, case.label, case.kink_margin,
                                                         H_KINKED))


def _unreliable(k, case, name, trust):
    return ("note: in case %d (%s) the finite differences of %s disagree with tinywgan's answer "
            "too (rel error %.2g): that is the check, not the code, and the case is graded "
            "against tinywgan's answer alone" % (k, case.label, name, trust))


def _where_lines(failing, cases):
    """'where: in case 2 of 5 (tanh, widths 2-5-1, N 4): dW[0] rel error 0.98, db has shape
    (4, 5), expected (5,)', for the first failing case and then any case that fails in other
    outputs; and in how many cases it fails."""
    lines, covered = [], set()
    for k in dict.fromkeys(r.case for r in failing):
        items = ["%s %s" % (r.output, r.problem or _error_words(max(r.err_lib, r.err_fd or 0)))
                 for r in failing if r.case == k and r.output not in covered]
        covered.update(r.output for r in failing if r.case == k)
        if items and len(lines) < 3:
            lines.append("where: in case %d of %d (%s): %s"
                         % (k, len(cases), cases[k - 1].label, ", ".join(items)))
    n = len({r.case for r in failing})
    if n > 1:
        lines[-1] += "; fails in %d of %d cases" % (n, len(cases))
    return lines


def _error_words(err):
    return "rel error %.2g" % err if math.isfinite(err) else \
        "holds NaN or inf where tinywgan's answer is finite"


def _part_lines(cases, records):
    """'right on ReLU nets; wrong on smooth nets.' when the cases come in parts (of the cases
    run: a run stops at an error)."""
    parts = list(dict.fromkeys(cases[r.case - 1].part for r in records))
    if len(parts) < 2:
        return []
    failed = {cases[r.case - 1].part for r in records if not r.ok}
    passes, fails = [p for p in parts if p not in failed], [p for p in parts if p in failed]
    return ["%s%s%s." % ("right on " + " and on ".join(passes) if passes else "",
                         "; " if passes and fails else "",
                         "wrong on " + " and on ".join(fails) if fails else "")]


def _split_lines(ex, cases, failing, answers):
    """The penalty's s'' injection alone: (yours - without) against (tinywgan's - without)."""
    if ex.split is None:
        return []
    part, what, baseline = ex.split
    for k in dict.fromkeys(r.case for r in failing if cases[r.case - 1].part == part):
        got, want = answers[k]
        with np.errstate(all="ignore"):
            base = ex.run(baseline, cases[k - 1].build())
        errs = [_rel_error(np.asarray(got[n]) - base[n], want[n] - base[n])
                for n in want if _checked(got[n], want[n])[1] is None]
        err = max(errs, default=math.inf)
        return ["%s is %s in case %d (rel error %.2g)"
                % (what, "right" if err < cases[k - 1].tol else "wrong", k, err)]
    return []


def _matching_mistakes(ex, cases, failing, answers):
    """[(mistake, outputs)]: the known mistakes that explain the solution's errors in every case
    run. A mistake's outputs are those it changes (differs from tinywgan's in, in some case):
    the solution must get each of them wrong, and wherever it is wrong in one (in any case), it
    must equal the mistake's there, entry by entry (the whole output where the shapes differ).
    So no case that tells the mistake apart from the solution's error is passed over. Those that
    explain every wrong output, if any; else those that explain some."""
    wrong = {}
    for r in failing:
        wrong.setdefault(r.output, set()).add(r.case)
    complete, some = [], []
    for mistake in ex.mistakes:
        theirs = {}
        for k in answers:
            try:
                with np.errstate(all="ignore"):
                    theirs[k] = ex.run(mistake.obj, cases[k - 1].build())
            except Exception:                     # a mistake that cannot run on this case
                break
        else:
            changed = list(dict.fromkeys(
                n for k, (_, want) in answers.items() for n in want
                if not _agrees(theirs[k].get(n), want[n], cases[k - 1])))
            if changed and set(changed) <= set(wrong) and all(
                    _explains(answers[k][0].get(n), theirs[k].get(n), answers[k][1][n],
                              cases[k - 1])
                    for n in changed for k in wrong[n]):
                (complete if set(changed) == set(wrong) else some).append((mistake, changed))
    return complete or some


def _explains(value, theirs, want, case):
    """The mistake's output ``theirs`` equals the solution's ``value`` wherever that is wrong
    (entries off ``want`` by the case's tolerance), or in full where the shapes are not want's."""
    a, b = _checked(value, want)[0], _checked(theirs, want)[0]
    if a is None or b is None:
        try:
            a, b = np.asarray(value, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
        except (TypeError, ValueError):
            return False
        return a.shape == b.shape and _rel_error(a, b, case.floor) < case.tol
    with np.errstate(all="ignore"):
        off = ~((a == want) | (np.isnan(a) & np.isnan(want))
                | (np.abs(a - want) < case.tol * np.maximum(case.floor, np.abs(a) + np.abs(want))))
    return _rel_error(a[off], b[off], case.floor) < case.tol


def _agrees(value, want, case):
    """The value has want's shape and dtype and is within the case's tolerance of it."""
    a = _checked(value, want)[0]
    return a is not None and _rel_error(a, want, case.floor) < case.tol


# ---- reporting ---------------------------------------------------------------------------------

def format_results(results, width=100):
    """The table: one row per exercise, the lines of a failing one indented under it."""
    w = max([len(r.name) for r in results] + [8])
    lines = ["%-*s  %-11s  %14s  %11s  %5s" % (w, "exercise", "result", "vs differences",
                                               "vs tinywgan", "cases")]
    for r in results:
        if r.status == NOT_STARTED:
            lines.append("%-*s  %s" % (w, r.name, r.status))
            continue
        lines.append("%-*s  %-11s  %14s  %11s  %5d" % (w, r.name, r.status, _number(r.err_fd),
                                                     _number(r.err_lib), r.cases))
        for line in r.lines:
            lines.append(textwrap.fill(line, width, initial_indent="    ",
                                       subsequent_indent="          "))
        if r.printed:
            lines += ["    printed:"] + quoted(r.printed)
    return "\n".join(lines)


def quoted(printed):
    """What a learner's code printed, as lines set off under a row."""
    return ["    | " + line for line in printed.splitlines()]


def _number(x):
    return "-" if math.isnan(x) else "%.1e" % x


def summary(results, files=None):
    """'25 exercises: 3 pass, 1 FAIL, 21 not started. Next: ...'."""
    count = {s: sum(r.status == s for r in results) for s in (PASS, FAIL, NOT_STARTED)}
    text = "%d exercise%s: %d pass, %d %s, %d not started." % (
        len(results), "" if len(results) == 1 else "s", count[PASS], count[FAIL], FAIL,
        count[NOT_STARTED])
    todo = [r for r in results if r.status != PASS]
    if todo:
        where = " (in %s)" % files[todo[0].name] if files else ""
        text += " Next: %s%s." % (todo[0].name, where)
    return text
