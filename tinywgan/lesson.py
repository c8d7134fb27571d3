"""What every lesson in ``demos/`` shares: its configuration as command-line flags, its budgets,
the BLAS thread count, and where its figure goes. Works the same in a script, a notebook
(jupytext) and Colab after ``pip install``; it imports nothing heavy, so it runs before NumPy.

How a lesson is written (``demos/NN_name.py``, NN its number in the README's tour):

    # %% [markdown]
    # # 4. Vanishing gradients
    #
    # What the lesson shows, the maths, the source it follows, the commands.

    # %%
    from dataclasses import dataclass

    from tinywgan import lesson


    @dataclass
    class Config:
        iters: int = 2000        # discriminator iterations (this comment is the flag's --help)
        lam: float = 10.0        # WGAN-GP penalty weight


    cfg = lesson.setup(Config, smoke=dict(iters=20))     # and one BLAS thread

    # %%
    import numpy as np           # after lesson.setup: NumPy reads the thread count as it loads

    # %% [markdown]
    # ## 1. The first step: what it does and why

    # %%
    ...
    lesson.save(fig, "vanishing_gradients")       # figures/vanishing_gradients.png

The rules:

1. One file per lesson, ``demos/NN_name.py``; its figure is ``figures/name.png`` (the name
   without the number, so that renumbering the tour moves no picture), its README section
   ``### N. Title`` shows ``docs/name.png`` and the command ``python demos/NN_name.py``.
2. jupytext's percent format: ``# %% [markdown]`` cells for the prose (the first one titles the
   lesson as the README does), ``# %%`` cells for the code, one pair per numbered step. The file
   runs as a script and opens as a notebook (``jupytext --to ipynb demos/NN_name.py``).
3. The configuration cell comes first: a dataclass ``Config`` whose every field has a comment
   (it becomes the flag's help), then ``cfg = lesson.setup(Config, ...)`` before NumPy is
   imported. Every field is a flag (``--lam 10``, ``--clips 0.1 0.01``; ``--help`` lists them
   with their defaults); nothing else reads the command line or the environment.
4. Budgets are overrides of fields, declared in the ``setup`` call: ``smoke`` (seconds, what CI
   runs: ``TINYWGAN_SMOKE=1`` or ``--smoke``; the figure keeps its size, so that the test can
   compare it with the README's copy) and, where a lesson has one, ``full``
   (``TINYWGAN_FULL=1`` or ``--full``). The default budget is what the README's command runs.
5. The lesson prints every number it plots and saves its figure with ``lesson.save``.
"""
import argparse
import ast
import dataclasses
import importlib.util
import inspect
import io
import math
import os
import sys
import textwrap
import tokenize
import typing

from . import threads as blas
from .oneline import INTERRUPTED, OneLineParser, ignore_sigint, worker_init

SMOKE, FULL = "TINYWGAN_SMOKE", "TINYWGAN_FULL"
FIGURES = "figures"                 # under the folder the lesson runs from

_POOLS = []                         # map_jobs's worker pools now running
_WRITTEN = []                       # the figures lesson.save wrote


def in_notebook():
    """True inside a Jupyter kernel, whose command line is the kernel's, not the lesson's."""
    return "ipykernel" in sys.modules and \
        os.path.basename(sys.argv[0]).startswith("ipykernel")


def setup(config_class, smoke=None, full=None, threads=1, argv=None, signed=()):
    """``config_class()`` with the budget's overrides, then the command line's flags, applied.

    config_class: a dataclass, every field with a default. smoke / full: {field: value}, the
    budgets' overrides (full=None: the lesson has no full budget). threads: BLAS threads for
    this process (``tinywgan.threads``; None or 0: NumPy's default). argv: the flags (None:
    ``sys.argv[1:]`` when run as a script, none in a notebook). signed: the number fields that may be negative (the others
    must keep their default's sign: a count whose default is positive must be >= 1, a seed
    >= 0, a positive rate > 0; every float finite). Prints one line saying which budget and
    which changes ran.

    A value outside those ranges ends in one line naming the flag (exit 2), as does a missing
    matplotlib (exit 1, with the pip install that adds it); Ctrl-C in a script ends in one line
    saying what was written, its worker processes terminated, exit status 130.
    """
    default = config_class()
    fields = [f.name for f in dataclasses.fields(config_class)]
    for budget, overrides in (("smoke", smoke), ("full", full), ("signed", dict.fromkeys(signed))):
        unknown = sorted(set(overrides or {}) - set(fields))
        if unknown:
            raise TypeError("lesson.setup: %s %s, not fields of %s"
                            % ("signed names" if budget == "signed" else "the %s budget sets"
                               % budget, ", ".join(unknown), config_class.__name__))
    if threads:                   # a count in the environment wins over the default
        chosen = blas.use(None if threads == blas.DEFAULT else threads)
        if "pip install" in chosen:
            print("(%s)" % chosen)
    script = argv is None and not in_notebook()        # run as a script: its command line
    if argv is None:
        argv = [] if in_notebook() else sys.argv[1:]
    types = _field_types(config_class)
    parser = _parser(config_class, types, full is not None)
    args = vars(parser.parse_args([_dashes(a) for a in argv]))

    smoke_flag, full_flag = args.pop("smoke"), args.pop("full", False)
    budget = "smoke" if smoke_flag or _env_on(SMOKE) else \
        "full" if full is not None and (full_flag or _env_on(FULL)) else "default"
    cfg = dataclasses.replace(default, **({"smoke": smoke, "full": full}.get(budget) or {}))
    flags = {}
    for name, raw in args.items():
        try:
            flags[name] = _convert(raw, types[name])
        except (TypeError, ValueError) as e:
            parser.error("--%s: %s" % (name.replace("_", "-"), e))
    cfg = dataclasses.replace(cfg, **flags)
    for name in flags:
        why = _out_of_range(getattr(cfg, name), getattr(default, name), types[name],
                            name in signed)
        if why:
            parser.error("--%s: %s" % (name.replace("_", "-"), why))
    if importlib.util.find_spec("matplotlib") is None:
        message = "this lesson draws its figure with matplotlib, which is not installed: " \
                  "pip install matplotlib"
        if in_notebook():
            raise ImportError(message)
        print("%s: %s" % (parser.prog, message), file=sys.stderr)
        sys.exit(1)
    if script:
        _on_ctrl_c(parser.prog)
    changed = ["%s=%r" % (n, getattr(cfg, n)) for n in fields
               if getattr(cfg, n) != getattr(default, n)]
    print("configuration: %s budget%s" % (budget, "; " + ", ".join(changed) if changed else
                                          ", every field at its default"), flush=True)
    return cfg


def _out_of_range(value, default, tp, signed):
    """Why ``value`` is outside the range a field of type ``tp`` with this default allows, or
    None: a float is finite; unless signed, an int whose default is positive is >= 1, one whose
    default is 0 is >= 0, and a float whose default is positive is > 0."""
    tp = _optional(tp) or tp
    if value is None or tp not in (int, float) or isinstance(value, bool):
        return None
    if tp is float and not math.isfinite(value):
        return "must be a finite number, got %r" % value
    if signed or default is None and tp is float:
        return None
    positive = default is None or default > 0
    if tp is int and positive and value < 1:
        return "must be an int >= 1, got %r" % value
    if tp is int and default == 0 and value < 0:
        return "must be an int >= 0, got %r" % value
    if tp is float and positive and value <= 0:
        return "must be a number > 0, got %r" % value
    return None


def _on_ctrl_c(prog):
    """Ctrl-C ends the script in one line saying what was written, no traceback: its worker
    pools terminated, stdout flushed, exit status 130 (as a shell reports Ctrl-C)."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        if not issubclass(kind, KeyboardInterrupt):
            return previous(kind, value, tb)
        for pool in list(_POOLS):
            pool.terminate()
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        print("%s: interrupted; %s; run it again (--smoke runs in seconds)"
              % (prog, "it wrote %s before" % ", ".join(_WRITTEN) if _WRITTEN else
                 "its figure was not written (the lesson writes it at the end)"),
              file=sys.stderr, flush=True)
        os._exit(INTERRUPTED)
    sys.excepthook = hook


def figure_path(filename):
    """``figures/filename`` under the working folder (the folder made if missing)."""
    os.makedirs(FIGURES, exist_ok=True)
    return os.path.join(FIGURES, filename)


def save(fig, name, dpi=110):
    """Write ``fig`` to ``figures/name.png``, say so, show it in a notebook, close it."""
    path = figure_path(name + ".png")
    fig.savefig(path, dpi=dpi)
    _WRITTEN.append(path)
    print("wrote %s" % path)
    if in_notebook():
        from IPython.display import Image, display
        display(Image(filename=path))
    import matplotlib.pyplot as plt
    plt.close(fig)
    return path


def map_jobs(fn, jobs, workers):
    """``fn`` over ``jobs``, results in order: in ``workers`` forked processes on Linux outside
    a notebook (each inherits the thread count and ``fn``, wherever it was defined), else one
    after another in this process. The workers ignore Ctrl-C; this process terminates them
    when it stops, early or not."""
    if workers > 1 and sys.platform.startswith("linux") and not in_notebook():
        import multiprocessing
        with ignore_sigint():
            pool = multiprocessing.get_context("fork").Pool(workers, initializer=worker_init)
        _POOLS.append(pool)
        try:
            with pool:
                yield from pool.imap(fn, jobs)
        finally:
            _POOLS.remove(pool)
    else:
        yield from map(fn, jobs)


# ------------------------------------------------------------------------------------------------
# The flags: one per field, its help the field's comment, its value checked against the type
# ------------------------------------------------------------------------------------------------

SCALARS = (int, float, str)


def _env_on(name):
    return os.environ.get(name, "") not in ("", "0")


def _dashes(arg):
    """--n_critic -> --n-critic (the field's own spelling works too)."""
    if not arg.startswith("--"):
        return arg
    flag, eq, value = arg.partition("=")
    return flag.replace("_", "-") + eq + value


def _field_types(config_class):
    """{field: its type}, string annotations resolved against the lesson's own names."""
    try:
        return typing.get_type_hints(config_class)
    except (NameError, TypeError):
        return {f.name: f.type for f in dataclasses.fields(config_class)}


def _parser(config_class, types, has_full):
    """An ArgumentParser with one flag per field (values kept as the strings given)."""
    parser = OneLineParser(
        description=_description(), formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Budgets: --smoke or %s=1 runs in seconds (as CI does)%s. A flag you give "
               "wins over the budget." % (SMOKE, "; --full or %s=1 runs the long version"
                                           % FULL if has_full else ""))
    parser.add_argument("--smoke", action="store_true", help="the smoke budget")
    if has_full:
        parser.add_argument("--full", action="store_true", help="the full budget")
    comments, default = _field_comments(config_class), config_class()
    for name, tp in types.items():
        value = getattr(default, name)
        kind, keywords = _flag_kind(tp)
        note = "" if kind != "literal" else " (a Python literal: %s)" % _type_name(tp)
        keywords["help"] = ("%s (default: %r)%s" % (comments.get(name, ""), value, note)) \
            .strip().replace("%", "%%")
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=argparse.SUPPRESS,
                            **keywords)
    return parser


def _flag_kind(tp):
    """(kind, argparse keywords): 'bool' (--x / --no-x), 'scalar', 'list' (one or more values
    after the flag) or 'literal' (one Python literal, checked against the type)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is bool:
        return "bool", dict(action=argparse.BooleanOptionalAction)
    if tp in SCALARS or _optional(tp) in SCALARS:
        return "scalar", dict(metavar=_type_name(tp).upper().replace(" OR ", "|"))
    if origin in (list, tuple) and args and all(a in SCALARS or a is Ellipsis for a in args):
        fixed = origin is tuple and Ellipsis not in args
        return "list", dict(nargs=len(args) if fixed else "+", metavar=args[0].__name__.upper())
    return "literal", dict(metavar="LITERAL")


def _optional(tp):
    """X for Optional[X], else None."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Union and len(args) == 2 and type(None) in args:
        return args[0] if args[1] is type(None) else args[1]
    return None


def _type_name(tp):
    if _optional(tp) is not None:
        return "%s or none" % _type_name(_optional(tp))
    return getattr(tp, "__name__", None) if tp in SCALARS else str(tp).replace("typing.", "")


def _convert(raw, tp):
    """The value of a flag: ``raw`` (a string, a list of strings, or a bool) as type ``tp``;
    ValueError or TypeError saying what was expected."""
    kind, _ = _flag_kind(tp)
    if kind == "bool":
        return raw
    if kind == "scalar":
        inner = _optional(tp)
        if inner is not None:
            return None if raw.lower() == "none" else _scalar(raw, inner)
        return _scalar(raw, tp)
    if kind == "list":
        args = typing.get_args(tp)
        fixed = typing.get_origin(tp) is tuple and Ellipsis not in args
        values = [_scalar(r, a) for r, a in zip(raw, args if fixed else [args[0]] * len(raw))]
        return tuple(values) if typing.get_origin(tp) is tuple else values
    try:
        return _check(ast.literal_eval(raw), tp)
    except (ValueError, SyntaxError, TypeError):
        raise ValueError("expected a Python literal of type %s, got %r" % (_type_name(tp), raw))


def _scalar(raw, tp):
    try:
        return tp(raw)
    except ValueError:
        raise ValueError("expected %s %s, got %r" % ("an" if tp is int else "a", tp.__name__,
                                                     raw))


def _check(value, tp):
    """``value`` if it has the structure ``tp`` (ints accepted for floats, lists for tuples and
    the other way round); else TypeError."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    bad = TypeError("expected %s, got %r" % (_type_name(tp), value))
    if tp is typing.Any:
        return value
    if _optional(tp) is not None:
        return None if value is None else _check(value, _optional(tp))
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad
    if tp in (int, str, bool):
        if isinstance(value, tp) and (tp is bool or not isinstance(value, bool)):
            return value
        raise bad
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise bad
        if origin is tuple and args and Ellipsis not in args:
            if len(value) != len(args):
                raise bad
            return tuple(_check(v, a) for v, a in zip(value, args))
        items = [_check(v, args[0]) if args else v for v in value]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        return {_check(k, args[0]): _check(v, args[1]) for k, v in value.items()} if args \
            else value
    return value


def _field_comments(config_class):
    """{field: its help}: the comments on the field's own lines, or, where it has none, the
    comment lines directly above it. Empty where the source cannot be read."""
    try:
        src = textwrap.dedent(inspect.getsource(config_class))
    except (OSError, TypeError):
        return {}
    comments = {t.start[0]: t.string.lstrip("#").strip()
                for t in tokenize.generate_tokens(io.StringIO(src).readline)
                if t.type == tokenize.COMMENT}
    lines, out = src.splitlines(), {}
    for node in ast.parse(src).body[0].body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            own = [comments[i] for i in range(node.lineno, node.end_lineno + 1) if i in comments]
            above, k = [], node.lineno - 1
            while not own and k >= 1 and lines[k - 1].strip().startswith("#"):
                above.insert(0, comments[k])
                k -= 1
            out[node.target.id] = " ".join(own or above)
    return out


def _description():
    """The running script's own words for --help: the title and first paragraph of its first
    markdown cell, else of its docstring; None in a notebook."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    if "# %% [markdown]" in lines:
        text = []
        for line in lines[lines.index("# %% [markdown]") + 1:]:
            if not line.startswith("#") or line.startswith("# %%"):
                break
            text.append(line[2:])
        text = "\n".join(text)
    else:
        text = main.__doc__ or ""
    return "\n\n".join(text.strip().split("\n\n")[:2]) or None
