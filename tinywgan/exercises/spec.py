r"""What an exercise is, to the grader, and the helpers the exercises' cases share.

An ``Exercise`` names a function (``linear_backward``) or a method (``Tanh.df``) of the workbook,
the library function that answers it (``reference``:
``"tinywgan.core.mlp:linear_backward"``), and three functions of its own:

    cases(rng) -> [Case]             the random cases, drawn from a seeded NumPy generator
    run(obj, args) -> {name: array}  calls a solution (the learner's, the library's, a known
                                     mistake's) on a case's inputs and names its outputs
    differences(args) -> {name: (gradient, resolution)}
                                     centred finite differences of the contract's own function
                                     (the library's forward or loss), for the outputs that are
                                     gradients; None where nothing is differentiated

A ``Case`` builds fresh inputs every time it is asked (``build()``), so a solution that writes
into its inputs cannot change what the next one sees; and the grader compares each input as the
call left it with a fresh copy (``state``: the exercise's ``inputs`` name them, its ``writes``
are those the contract lets it change), so that a write is seen and named.

A case's ``part`` names the term it exercises ("ReLU nets: the first-order path", "the
tails"): the grader says which parts pass. Its ``sizes`` ({"N": 4, "D": 3, "M": 5},
{"eps": 1e-3}) and ``points`` (("a", the input each entry of an elementwise output is taken
at)) are what the diagnoses (``diagnose``) speak of: "right
only at N = 1", "wrong from a = -400 in float32". The cases of every exercise draw N, d and M
different and above 1 (``distinct``), with one case at N = 1 among them, so that no two
mistakes coincide by a size.

An exercise's ``mistakes`` are its known wrong answers, ``Mistake`` entries of the catalogue
(``tinywgan.bugzoo.broken``, which the bug zoo uses too), each a broken copy of the library's
solution with the exercise's signature: when a learner's output equals a mistake's where it
differs from the library's, the grader prints the mistake's hint.
"""
import math
import zlib
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Optional

import numpy as np

from ..measure import finitediff, gradcheck
from ..measure.finitediff import TOL
from ..core.mlp import MLP


@dataclass
class Case:
    part: str                        # the term this case exercises
    label: str                       # how a person finds it again: "tanh, widths 2-5-1, N 4"
    build: Callable[[], tuple]       # the inputs, fresh and identical on every call
    floor: float = 1e-8              # rel_error's floor against the library (tiny: the tails)
    differences: bool = True         # also graded against finite differences
    kink_margin: float = math.inf    # ReLU family: the smallest |pre-activation|
    tol: float = TOL                 # the relative error allowed (float32 cases: FLOAT32_TOL)
    sizes: dict = field(default_factory=dict)   # {"N": 4, "eps": 1e-3}: what a diagnosis names
    points: Optional[tuple] = None   # ("a", array): where each entry of the outputs is taken


@dataclass
class Exercise:
    name: str                        # "linear_backward", or "Tanh.df" for a method
    file: str                        # the workbook file that holds its stub
    reference: str                   # "module:qualname" of the library's answer
    teaches: str                     # one line
    cases: Callable
    run: Callable
    differences: Optional[Callable] = None
    mistakes: list = field(default_factory=list)    # the catalogue's (bugzoo.broken.Mistake)
    split: Optional[tuple] = None    # (part, what it isolates, a baseline solution): see grader
    inputs: tuple = ()               # a name for each input of a case (None: the grader's own)
    writes: tuple = ()               # the inputs the contract lets it change ("net.dW", "params")

    @property
    def owner(self):
        """The workbook name that holds it: the function, or the class of a method."""
        return self.name.partition(".")[0]

    @property
    def method(self):
        """The method's name (``df`` of ``Tanh.df``), or None for a function."""
        return self.name.partition(".")[2] or None

    def rng(self, seed):
        """The exercise's own generator: its cases depend on the seed and its name only."""
        return np.random.default_rng([seed, zlib.crc32(self.name.encode())])


class Said(str):
    """Why an output cannot be compared (it is not an array of numbers): a sentence where the
    array would be."""


def portable(value):
    """A solution's output as a plain ndarray of numbers (a copy), or a ``Said`` sentence: what
    crosses from the learner's process to the grader's (no pickle) and all the grader compares."""
    if isinstance(value, Said):
        return value
    try:
        a = np.array(value, copy=True, subok=False)
    except BaseException:                            # a ragged list, an object that lies
        return Said("is not an array (%s)" % _type_name(value))
    if a.dtype.kind not in "biufc":
        return Said("is %s, not an array of numbers" % _type_name(value))
    return a


def _type_name(value):
    try:
        return str(type(value).__name__)
    except BaseException:
        return "an object"


def said(e):
    """'TypeError: ...' for an exception, even one whose ``__str__`` raises."""
    try:
        text = str(e)
    except BaseException as inner:
        text = "(its message cannot be shown: str() raised %s)" % _type_name(inner)
    return "%s: %s" % (_type_name(e), text) if text else _type_name(e)


def state(args, names):
    """{name: array} of every array among a case's inputs, reached through tuples, lists, dicts
    and networks (a net's W[l], b[l], dW[l], db[l] and spectral norm's u[l], v[l]): what the
    grader compares before and after a call. ``names``: one per input, None to skip it."""
    found = {}

    def walk(name, x):
        if isinstance(x, np.ndarray):
            found[name] = x
        elif isinstance(x, (tuple, list)):
            for i, v in enumerate(x):
                walk("%s[%d]" % (name, i), v)
        elif isinstance(x, dict):
            for k, v in x.items():
                walk("%s[%r]" % (name, k), v)
        elif isinstance(x, MLP):
            for field_ in ("W", "b", "dW", "db"):
                walk("%s.%s" % (name, field_), getattr(x, field_))
            if x.sn is not None:
                walk(name + ".sn.u", x.sn.u)
                walk(name + ".sn.v", x.sn.v)
    for name, x in zip(names, args):
        if name is not None:
            walk(name, x)
    return found


class ContractError(Exception):
    """A solution's answer does not have the contract's form (not a tuple of three, no
    'gen_loss' in the dict): the grader says so instead of showing a traceback."""


def unpack(answer, names):
    """{names[i]: answer[i]} for an answer that must be a tuple of len(names) outputs (counted,
    not asked: a tuple subclass may lie about its length)."""
    items = list(answer) if isinstance(answer, (tuple, list)) else None
    if items is None or len(items) != len(names):
        raise ContractError("returned %s; expected a tuple of %d: (%s)"
                            % (_kind(answer, items), len(names), ", ".join(names)))
    return dict(zip(names, items))


def entries(answer, names):
    """{name: answer[name]} for an answer that must be a dict holding ``names``."""
    if not isinstance(answer, dict):
        raise ContractError("returned %s; expected a dict with %s" % (_kind(answer),
                                                                     ", ".join(names)))
    missing = [n for n in names if n not in answer]
    if missing:
        raise ContractError("the returned dict has no %s" % ", ".join(map(repr, missing)))
    return {n: answer[n] for n in names}


def _kind(answer, items=None):
    if items is not None:
        return "a %s of %d" % (_type_name(answer), len(items))
    return "None" if answer is None else "a %s" % _type_name(answer)


def constant(*arrays):
    """A case's ``build`` for fixed arrays: fresh copies on every call."""
    return partial(_copies, arrays)


def _copies(arrays):
    return tuple(np.array(a, copy=True) for a in arrays)


#: The relative error allowed in float32 (test_activations.py's bound: 84 ulps of 1.0, set by
#: SiLU's subnormal results, which any formula that forms sigma first rounds alike).
FLOAT32_TOL = 1e-5


def distinct(rng, k, low=2, high=8):
    """k different sizes in [low, high): N, d and M that no mistake can confuse."""
    return [int(v) for v in rng.choice(np.arange(low, high), size=k, replace=False)]


# ---- networks ----------------------------------------------------------------------------------

def build_net(widths, act, seed, spectral_norm=False):
    """A float64 MLP with biases drawn from N(0, 0.5^2) (not the initial zeros: a check that
    exercises the biases, and no dead ReLU layer sitting exactly on the next kink)."""
    net = MLP(widths, act, dtype="float64", seed=seed, spectral_norm=spectral_norm)
    rng = np.random.default_rng(seed)
    for b in net.b:
        b[...] = rng.normal(scale=0.5, size=b.shape)
    return net


def draw_widths(rng, N, d_out=None, max_hidden=3, widest=8):
    """(d_0, hidden..., d_out): 1..max_hidden hidden layers, every width in 2..widest and
    different from the others and from the batch size N (d_out: drawn too when None; 1 for a
    critic)."""
    hidden = int(rng.integers(1, max_hidden + 1))
    free = [v for v in range(2, widest + 1) if v != N and v != d_out]
    drawn = [int(v) for v in rng.choice(free, size=hidden + 1 + (d_out is None), replace=False)]
    return tuple(drawn) if d_out is None else (*drawn, d_out)


def describe(net, N):
    """'tanh, widths 2-5-4-1, N 6'."""
    return "%s, widths %s, N %d" % (net.act, "-".join(map(str, net.widths)), N)


def prefill(net, seed):
    """Fill net.grads with random numbers (what a backward must add to, or zero) and return
    a copy of each layer's part, to subtract afterwards (``added``)."""
    net.grads[...] = np.random.default_rng(seed).normal(size=net.grads.shape)
    return {name: a.copy() for name, a in gradient_views(net).items()}


def gradient_views(net):
    """{"dW[l]": net.dW[l], "db[l]": net.db[l]} for every layer, in order."""
    views = {}
    for l in range(net.L):
        views["dW[%d]" % l], views["db[%d]" % l] = net.dW[l], net.db[l]
    return views


def parameter_views(net):
    """{"dW[l]": net.W[l], "db[l]": net.b[l]}: what each gradient of ``gradient_views`` is of."""
    views = {}
    for l in range(net.L):
        views["dW[%d]" % l], views["db[%d]" % l] = net.W[l], net.b[l]
    return views


def added(net, before):
    """What a backward added to each gradient buffer since ``prefill``."""
    return {name: a - before[name] for name, a in gradient_views(net).items()}


#: The differences' steps (gradcheck's choice): the fourth-order stencil at 1e-3 for smooth
#: activations; the two-point one at 1e-6 for the piecewise-linear ReLU family, exact between
#: kinks. A pre-activation within KINK_REACH of 0 may be stepped across (a step moves it by h
#: times a weight or an input): there the differences measure the average of two slopes.
H_SMOOTH, H_KINKED = 1e-3, 1e-6
KINK_REACH = 10 * H_KINKED


def differences(net, f, arrays):
    """{name: (gradient, resolution)} of the scalar f() with respect to each array, with the
    steps above."""
    smooth = net.act.second_order
    return {name: finitediff.numerical_gradient(f, x, h=H_SMOOTH if smooth else H_KINKED,
                                                order=4 if smooth else 2, return_noise=True)
            for name, x in arrays.items()}


def split_target(norms, ratio=1.25):
    """A one-sided penalty's target between the rows' norms: the geometric middle of the widest
    ratio gap between neighbouring norms, so that rows lie on both sides of it and every row is
    at least sqrt(ratio) from it (a difference does not step over the branch point). None when
    no gap is as wide as ``ratio``: draw another case."""
    n = np.sort(np.asarray(norms, dtype=np.float64))
    if n.size < 2 or n[0] <= 0:
        return None
    gaps = n[1:] / n[:-1]
    i = int(np.argmax(gaps))
    return float(np.sqrt(n[i] * n[i + 1])) if gaps[i] >= ratio else None


def kink_margin(net, *xs):
    """The smallest |pre-activation| of a ReLU-family net over the rows of xs (inf if smooth)."""
    return math.inf if net.act.second_order else gradcheck.min_abs_preactivation(net, *xs)
