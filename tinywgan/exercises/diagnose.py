r"""Diagnoses computed from the numbers: what a wrong answer IS, said in plain words, for the
commonest slips, whichever exercise they are made in.

Of one output, in every case where it is wrong (each with its case's tolerance ``tol``):

- exactly the negative of tinywgan's answer, or a constant multiple c of it (which c; or a
  multiple that follows one of the case's sizes, "N times"): c = <yours, ours> / <ours, ours>
  and yours within tol of c ours;
- zero where tinywgan's is not (nothing computed, or nothing added);
- the transpose of tinywgan's answer;
- right in the body and wrong in the tails, for an output taken at points (the activations'
  a): the first a, by |a|, where it breaks, in which dtype, yours and ours there.

Across the cases:

- right in float64 and wrong in float32;
- right only on one side of a size or a setting (``Case.sizes``): "passes every case with
  N = 1 and fails every case with N >= 2", "... with eps = 1e-08 ... with eps >= 0.001".

``explain`` is what the grader calls where it compares a solution's outputs with tinywgan's.
"""
import math

import numpy as np


def explain(cases, failing, answers):
    """Sentences about a failing solution.

    cases: the exercise's cases (``spec.Case``); failing: [(k, output)] for each wrong output,
    k the 1-based case; answers: {k: (got, want)}, the solution's outputs as returned (a dict)
    and tinywgan's (a dict of arrays), for every case run.
    """
    lines = []
    for name in dict.fromkeys(output for _, output in failing):
        at = [k for k, output in failing if output == name]
        lines += _of_output(name, [(cases[k - 1], *_pair(answers[k], name)) for k in at])
    dtypes = {k: np.asarray(next(iter(want.values()))).dtype.name
              for k, (_, want) in answers.items()}
    return lines + _across(cases, {k for k, _ in failing}, dtypes)


def _pair(answer, name):
    got, want = answer
    try:
        value = np.asarray(got.get(name), dtype=np.float64)
    except (TypeError, ValueError):
        value = None
    return value, np.asarray(want[name], dtype=np.float64)


def _close(a, b, tol):
    """a within tol of b, CS231n's relative error with a floor of the smallest normal number."""
    if a.shape != b.shape or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return False
    scale = np.maximum(np.abs(a) + np.abs(b), np.finfo(np.float64).tiny)
    return bool((np.abs(a - b) / scale < tol).all())


def _of_output(name, wrong):
    """Sentences about one output, from [(case, yours, ours)] of the cases where it is wrong."""
    if any(got is None for _, got, _ in wrong):
        return []
    if all(got.shape == want.shape and not got.any() and want.any() for _, got, want in wrong):
        return ["%s is zero where tinywgan's is not (nothing computed, or nothing added)" % name]
    if all(want.ndim == 2 and _close(got, want.T, case.tol) for case, got, want in wrong):
        want = wrong[0][2]
        return ["%s is the transpose of tinywgan's answer (%s, not %s)"
                % (name, "x".join(map(str, want.shape[::-1])), "x".join(map(str, want.shape)))]
    factors = [_factor(got, want, case.tol) for case, got, want in wrong]
    if all(c is not None for c in factors):
        return [_factor_words(name, factors, [case.sizes for case, _, _ in wrong])]
    return [line for case, got, want in wrong[:1] if case.points is not None
            for line in _tails(name, case, got, want)]


def _factor(got, want, tol):
    """c with got = c want (to tol), c != 1; None if there is none."""
    if got.shape != want.shape or not want.any() or not np.isfinite(got).all():
        return None
    c = float((got * want).sum() / (want * want).sum())
    return c if abs(c - 1) > tol and _close(got, c * want, tol) else None


def _factor_words(name, factors, sizes):
    """'dW is exactly the negative of ...', '... 2 times ...', '... N times ...'."""
    c = factors[0]
    if all(math.isclose(f, c, rel_tol=1e-6) for f in factors):
        if math.isclose(c, -1, rel_tol=1e-6):
            return "%s is exactly the negative of tinywgan's answer (a sign flipped)" % name
        return "%s is %s times tinywgan's answer (a constant factor)" % (name, _number(c))
    for key in sizes[0]:
        for power, words in ((1, "%s times"), (-1, "1/%s of")):
            if all(key in s and math.isclose(f, s[key] ** power, rel_tol=1e-6)
                   for f, s in zip(factors, sizes)):
                return "%s is %s tinywgan's answer in every case where it is wrong (a factor " \
                       "%s too many or too few)" % (name, words % key, key)
    return "%s is a multiple of tinywgan's answer, a different one in each case: %s" % (
        name, ", ".join(_number(f) for f in factors[:4]))


def _number(c):
    """2, -1/2, 0.37."""
    for k in range(2, 101):
        for sign in (1, -1):
            if math.isclose(c, sign * k, rel_tol=1e-9):
                return "%d" % (sign * k)
            if math.isclose(c, sign / k, rel_tol=1e-9):
                return "%s1/%d" % ("-" if sign < 0 else "", k)
    return "%.4g" % c


def _tails(name, case, got, want):
    """'right for |a| < 400; first wrong at a = -400 in float64 (yours nan, tinywgan's 0)'."""
    label, points = case.points
    points = np.asarray(points)
    if got.shape != want.shape or got.shape != points.shape:
        return []
    with np.errstate(all="ignore"):
        scale = np.maximum(np.abs(got) + np.abs(want), case.floor)
        ok = (got == want) | (np.isnan(got) & np.isnan(want)) | (np.abs(got - want) / scale
                                                                 < case.tol)
    if ok.all() or not ok.any():
        return []
    size = np.abs(points.astype(np.float64))
    i = int(np.argmin(np.where(ok, np.inf, size)))
    return ["%s is right for |%s| < %.4g and wrong from there on: first at %s = %.5g in %s "
            "(yours %.6g, tinywgan's %.6g), wrong at %d of the %d points" % (
                name, label, size[i], label, points.flat[i], points.dtype.name, got.flat[i],
                want.flat[i], (~ok).sum(), ok.size)]


def _across(cases, failed, dtypes):
    """Sentences from which cases fail (dtypes: {k: the dtype of tinywgan's answer}): float32
    only; one side of a size or setting. Among the cases run (a run stops at an error)."""
    passed = [k for k in dtypes if k not in failed]
    if not passed:
        return []
    lines = []
    if {dtypes[k] for k in failed} == {"float32"} and "float64" in {dtypes[k] for k in passed}:
        lines.append("right in float64 and wrong in float32: every float64 case passes")
    for key in dict.fromkeys(key for case in cases for key in case.sizes):
        yes = [cases[k - 1].sizes[key] for k in passed if key in cases[k - 1].sizes]
        no = [cases[k - 1].sizes[key] for k in failed if key in cases[k - 1].sizes]
        if yes and no and (max(yes) < min(no) or min(yes) > max(no)):
            lines.append("passes every case with %s and fails every case with %s"
                         % (_side(key, yes, max(yes) < min(no)),
                            _side(key, no, max(yes) >= min(no))))
            break
    return lines


def _side(key, values, low):
    """'N = 1', 'N <= 3', 'eps >= 0.001'."""
    if len(set(values)) == 1:
        return "%s = %.4g" % (key, values[0])
    return "%s %s %.4g" % (key, "<=" if low else ">=", max(values) if low else min(values))
