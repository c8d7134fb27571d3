"""The workbook and its grader: a fresh workbook is all "not started"; the library's own functions,
pasted into it, pass; a learner's answers pass, and each known mistake planted into them fails
with its hint; the grader says when a ReLU kink fools the differences; errors read as sentences.
"""
import ast
import builtins
import functools
import inspect
import os
import shutil
import subprocess
import sys
import textwrap
import types
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from exercise_answers import ANSWERS, PLANTS
from tinywgan.bugzoo import broken
from tinywgan.cli import main
from tinywgan.exercises import EXERCISES, FILES, check, find, show, workbook
from tinywgan.exercises.grader import FAIL, NOT_STARTED, PASS, grade, reference, \
    reference_function
from tinywgan.exercises.spec import Case, build_net, differences

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))   # the repository
EXERCISES_DIR = os.path.join(ROOT, "tinywgan", "exercises")


# ---- writing into a workbook --------------------------------------------------------------------

def _stub_lines(text, ex):
    """(first line, last line, indentation) of the exercise's def in a workbook file's text."""
    body = ast.parse(text).body
    if ex.method:
        body = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == ex.owner).body
    fn = next(n for n in body if isinstance(n, ast.FunctionDef) and n.name == (ex.method or
                                                                              ex.name))
    return fn.lineno, fn.end_lineno, fn.col_offset


def fill(folder, ex, source, imports=""):
    """Replace the exercise's stub in ``folder`` with ``source`` (a def), adding ``imports``
    at the top of its file."""
    path = os.path.join(folder, ex.file)
    with open(path) as f:
        text = f.read()
    first, last, indent = _stub_lines(text, ex)
    lines = text.splitlines()
    lines[first - 1:last] = textwrap.indent(textwrap.dedent(source).strip("\n"),
                                            " " * indent).splitlines()
    with open(path, "w") as f:
        f.write(imports + "\n".join(lines) + "\n")


def _globals_used(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _globals_used(const)
    return names


def paste_library(folder):
    """Each stub replaced by the library's own function, as a learner would copy it: its source,
    renamed to the exercise, with the imports of the names it uses from its module."""
    for ex in EXERCISES:
        fn = reference_function(ex)
        source = textwrap.dedent(inspect.getsource(fn)).replace(
            "def %s(" % fn.__name__, "def %s(" % (ex.method or ex.name), 1)
        imports = "".join("from %s import %s\n" % (fn.__module__, name)
                          for name in sorted(_globals_used(fn.__code__))
                          if name in fn.__globals__ and not hasattr(builtins, name))
        fill(folder, ex, source, imports)


def answered(folder):
    """A workbook in ``folder`` with every exercise answered (ANSWERS)."""
    workbook.init(folder)
    for ex in EXERCISES:
        fill(folder, ex, ANSWERS[ex.name])
    return folder


@pytest.fixture(scope="module")
def answers_dir(tmp_path_factory):
    return answered(str(tmp_path_factory.mktemp("answers")))


# ---- the workbook -------------------------------------------------------------------------------

def test_init_then_check_reports_every_exercise_not_started(tmp_path, capsys):
    """A fresh workbook: every row 'not started', exit status 0, no traceback."""
    folder = str(tmp_path / "wb")
    assert main(["exercises", "init", folder]) == 0
    assert sorted(os.listdir(folder)) == sorted(FILES)
    capsys.readouterr()
    assert main(["exercises", "check", folder]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.split()[:1] in ([ex.name] for ex in
                                                                     EXERCISES)]
    assert len(rows) == len(EXERCISES) and all(r.endswith(NOT_STARTED) for r in rows), out
    assert "Traceback" not in out and "%d not started" % len(EXERCISES) in out


def test_init_never_overwrites_a_learners_file(tmp_path):
    folder = str(tmp_path)
    path = os.path.join(folder, FILES[0])
    with open(path, "w") as f:
        f.write("# my work\n")
    written, kept = workbook.init(folder)
    assert kept == [path] and len(written) == len(FILES) - 1
    assert open(path).read() == "# my work\n"


def test_the_library_is_the_answer_key(capsys):
    """`exercises check --reference` grades tinywgan's own functions: every one passes."""
    assert main(["exercises", "check", "--reference"]) == 0
    assert "%d pass, 0 FAIL" % len(EXERCISES) in capsys.readouterr().out


def test_pasting_the_librarys_functions_passes(tmp_path):
    """A learner who copies each library function into its stub (renamed, with the imports
    of what it uses) gets every row 'pass'."""
    folder = str(tmp_path)
    workbook.init(folder)
    paste_library(folder)
    results = check(folder, out=None)
    assert [r.status for r in results] == [PASS] * len(EXERCISES), \
        [(r.name, r.lines) for r in results if r.status != PASS]


def test_a_learners_answers_pass(answers_dir):
    results = check(answers_dir, out=None)
    assert [r.status for r in results] == [PASS] * len(EXERCISES), \
        [(r.name, r.lines) for r in results if r.status != PASS]


def test_a_workbook_file_runs_as_a_script_and_grades_itself(tmp_path):
    """`python 02_mlp.py` (or the notebook's last cell) grades that file's exercises."""
    workbook.init(str(tmp_path))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "02_mlp.py"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "mlp_backward" in out.stdout and "2 exercises: 0 pass, 0 FAIL, 2 not started" \
        in out.stdout, out.stdout


def test_a_workbook_file_converts_to_a_notebook():
    """The workbook is jupytext 'percent' Python: it opens as a notebook, prose and code."""
    jupytext = pytest.importorskip("jupytext")
    for file in FILES:
        notebook = jupytext.read(workbook.template(file))
        kinds = [cell.cell_type for cell in notebook.cells]
        assert kinds.count("markdown") >= 2 and kinds.count("code") >= 3, (file, kinds)
        code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
        assert "raise NotImplementedError" in code and "check(globals())" in code
    import nbformat
    nbformat.validate(jupytext.read(workbook.template(FILES[0])))


def test_every_stub_is_in_the_catalogue_and_every_exercise_has_a_stub():
    stubs = set()
    for file in FILES:
        with open(workbook.template(file)) as f:
            tree = ast.parse(f.read())
        for node in tree.body:
            defs = [(node.name, None)] if isinstance(node, ast.FunctionDef) else [
                (node.name, m.name) for m in node.body if isinstance(m, ast.FunctionDef)] \
                if isinstance(node, ast.ClassDef) else []
            for owner, method in defs:
                stubs.add((file, owner + ("." + method if method else "")))
    assert stubs == {(ex.file, ex.name) for ex in EXERCISES}


def test_show_points_at_the_library_function(capsys):
    assert main(["exercises", "show", "gradient_penalty"]) == 0
    out = capsys.readouterr().out
    assert "tinywgan/core/mlp.py, gradient_penalty (line" in out
    line = int(out.split("(line ")[1].split(")")[0])
    with open(os.path.join(ROOT, "tinywgan", "core", "mlp.py")) as f:
        assert f.read().splitlines()[line - 1].startswith("def gradient_penalty(")
    assert "s'' path dropped" in show("gradient_penalty")


def test_check_in_a_notebook_grades_what_the_namespace_defines(answers_dir):
    namespace = workbook.load(answers_dir)["02_mlp.py"][0]
    results = check(namespace, out=None)
    assert [r.name for r in results] == ["mlp_backward", "input_gradient"]
    assert all(r.status == PASS for r in results)


# ---- failures read as sentences -----------------------------------------------------------------

def test_an_error_in_the_learners_code_names_its_line(tmp_path):
    folder = answered(str(tmp_path))
    fill(folder, find("linear_backward"), "def linear_backward(da, cache):\n"
                                          "    x, W = cache\n    return x @ da\n")
    (result,) = check(folder, ["linear_backward"], out=None)
    assert result.status == FAIL
    assert "raised ValueError" in result.lines[0] and "01_layers.py, line" in result.lines[0]


def test_a_wrong_shape_is_named_not_a_traceback(tmp_path):
    folder = answered(str(tmp_path))
    fill(folder, find("linear_backward"), "def linear_backward(da, cache):\n    return da\n")
    (result,) = check(folder, ["linear_backward"], out=None)
    assert result.status == FAIL and "expected a tuple of 3: (dx, dW, db)" in result.lines[0]


def test_calling_an_exercise_not_started_is_said(tmp_path):
    folder = answered(str(tmp_path))
    workbook_text = open(workbook.template("03_penalty.py")).read()
    with open(os.path.join(folder, "03_penalty.py"), "w") as f:
        f.write(workbook_text)                     # penalty_head is a stub again
    fill(folder, find("gradient_penalty_relu"), ANSWERS["gradient_penalty_relu"])
    results = {r.name: r for r in check(folder, ["penalty_head", "gradient_penalty_relu"],
                                         out=None)}
    assert results["penalty_head"].status == NOT_STARTED
    assert results["gradient_penalty_relu"].status == FAIL
    assert "an exercise it calls is not started yet" in results["gradient_penalty_relu"].lines[0]


def test_a_file_that_does_not_run_fails_its_exercises(tmp_path, capsys):
    folder = answered(str(tmp_path))
    with open(os.path.join(folder, "01_layers.py"), "a") as f:
        f.write("\ndef broken(:\n")
    assert main(["exercises", "check", folder, "linear_backward", "Tanh.df"]) == 1
    out = capsys.readouterr().out
    assert out.count("01_layers.py does not run: SyntaxError") == 2 and "Traceback" not in out


def test_bad_arguments_say_what_to_do(tmp_path, capsys):
    assert main(["exercises", "check", str(tmp_path / "nowhere")]) == 2
    assert "exercises init" in capsys.readouterr().err
    assert main(["exercises", "check", "--reference", "no_such_exercise"]) == 2
    assert "no exercise called 'no_such_exercise'" in capsys.readouterr().err
    assert main(["exercises", "check"]) == 2


def test_a_straddled_relu_kink_is_the_check_not_the_code():
    """A case whose pre-activation sits 3e-7 from ReLU's kink, inside the differences' step:
    the differences are wrong there, the library's answer passes, and the grader says why."""
    def build():
        net = build_net((2, 3, 1), "relu", seed=3)
        x = np.random.default_rng(4).normal(size=(3, 2))
        net.b[0][0] = 3e-7 - x[0] @ net.W[0][:, 0]              # A[0][0, 0] = 3e-7
        return net, x, None, {}
    ex = replace(find("input_gradient"), cases=lambda rng: [
        Case("networks", "a kink at 3e-7", build, kink_margin=3e-7)],
        run=lambda fn, args: {"grad_x": fn(args[0], args[1])})
    net, x = build()[:2]
    numeric, noise = differences(net, lambda: net(x).sum(), {"x": x})["x"]
    assert np.abs(numeric - net.input_gradient(x)).max() > 1e-3      # the differences are off
    result = grade(ex, reference(ex), None)
    assert result.status == PASS
    assert any("straddles a ReLU kink" in line and "3e-07 from 0" in line
               and "the check, not the code" in line for line in result.lines), result.lines


# ---- the known mistakes -------------------------------------------------------------------------

def test_every_known_mistake_comes_from_the_catalogue():
    """The exercises' known mistakes are entries of the one catalogue (tinywgan.bugzoo.broken),
    the objects themselves, which the bug zoo uses too."""
    strays = [(ex.name, m.name) for ex in EXERCISES for m in ex.mistakes
              if not any(m is entry for entry in broken.CATALOGUE)]
    assert strays == []


def _defined_in_exercises(obj, seen=None):
    """The functions reachable from a mistake's broken copy (a partial's function, a class's
    methods, a copy_with function's swapped names, a step_with copy's methods) whose code is
    written in tinywgan/exercises/."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, (functools.partial, functools.partialmethod)):
        return _defined_in_exercises(obj.func, seen)
    if isinstance(obj, type):
        return [f for value in vars(obj).values() for f in _defined_in_exercises(value, seen)]
    if isinstance(obj, dict):
        return [f for value in obj.values() for f in _defined_in_exercises(value, seen)]
    if not isinstance(obj, types.FunctionType):
        return []
    found = [obj.__qualname__] if os.path.dirname(obj.__code__.co_filename) == EXERCISES_DIR \
        else []
    library = vars(sys.modules[obj.__module__])
    swapped = {name: value for name, value in obj.__globals__.items()
               if name in obj.__code__.co_names and library.get(name) is not value}
    cells = [c.cell_contents for c in obj.__closure__ or ()]
    return found + _defined_in_exercises(swapped, seen) + [
        f for value in cells for f in _defined_in_exercises(value, seen)]


def test_no_broken_code_is_defined_in_the_exercises():
    """ex_*.py hold cases and differences only: no Mistake entries (nor copy_with, step_with),
    and no code any known mistake runs."""
    for name in sorted(os.listdir(EXERCISES_DIR)):
        if name.startswith("ex_") and name.endswith(".py"):
            with open(os.path.join(EXERCISES_DIR, name)) as f:
                tree = ast.parse(f.read())
            used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | \
                {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)} | \
                {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 for alias in node.names}
            assert not used & {"Mistake", "copy_with", "step_with", "_known"}, name
    assert [(ex.name, m.name, where) for ex in EXERCISES for m in ex.mistakes
            for where in _defined_in_exercises(m.obj)] == []


def test_every_known_mistake_is_planted_in_a_test():
    assert set(PLANTS) == {(ex.name, m.name) for ex in EXERCISES for m in ex.mistakes}


@pytest.fixture(scope="module")
def planted(answers_dir, tmp_path_factory):
    """plant(graded, mistake): a copy of the answered workbook with the mistake planted, graded
    on the exercise ``graded``; returns its Result."""
    def plant(graded, mistake):
        target, changes = PLANTS[(graded, mistake)]
        folder = str(tmp_path_factory.mktemp("planted"))
        shutil.copytree(answers_dir, folder, dirs_exist_ok=True)
        source = ANSWERS[target]
        for old, new in changes:
            assert old in source, "%s: %r is not in the answer" % (target, old)
            source = source.replace(old, new)
        fill(folder, find(target), source)
        namespace, problem = workbook.load(folder)[find(graded).file]   # in this process:
        assert problem is None, problem                                 # sealing is
        (result,) = check(namespace, [graded], out=None)                # test_sealed.py's
        return result
    return plant


@pytest.mark.parametrize("graded, mistake", sorted(PLANTS))
def test_a_planted_mistake_fails_with_its_hint(planted, graded, mistake):
    result = planted(graded, mistake)
    assert result.status == FAIL and mistake in result.hints, result.lines


@settings(max_examples=30)
@given(st.sampled_from(EXERCISES), st.integers(0, 2 ** 32 - 1))
def test_the_library_passes_on_any_seed(ex, seed):
    result = grade(ex, reference(ex), None, seed)
    assert result.status == PASS, result.lines


@settings(max_examples=40)
@given(st.sampled_from([(ex, m) for ex in EXERCISES for m in ex.mistakes]),
       st.integers(0, 2 ** 32 - 1))
def test_every_known_mistake_is_caught_and_named_on_any_seed(ex_mistake, seed):
    """The cases expose each known mistake whatever the seed, and the grader names it."""
    ex, mistake = ex_mistake
    result = grade(ex, mistake.obj, None, seed)
    assert result.status == FAIL and mistake.name in result.hints, result.lines
