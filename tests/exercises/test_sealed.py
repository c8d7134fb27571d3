"""The sealed grader: hostile workbooks each end in a clear row and a non-zero exit status,
never a hang, a traceback, a silent exit 0 or a pass; a workbook that patches the library (or
the grader) is graded against the unpatched answer; side effects are seen; notebook work is
graded; ``--json`` and ``--strict`` for instructors. One child process per workbook file (more
only where an exercise kills its child), and a short time limit."""
import contextlib
import io
import json
import os
import sys
import time

import pytest

from exercise_answers import ANSWERS
from test_exercises import fill
from tinywgan.cli import main
from tinywgan.exercises import check, find, workbook
from tinywgan.core.mlp import MLP
from tinywgan.exercises.grader import FAIL, NOT_STARTED, PASS, grade

LIMIT = 2.0                # seconds per exercise: the endless loop costs this much

#: At the top of 01_layers.py: the library's Tanh.df replaced by the catalogued mistake, the
#: grader's verdict replaced by "pass", a print.
PATCHES = '''import os
import sys
import numpy as np
import tinywgan.exercises.grader as grader
import tinywgan.exercises.sealed as sealed
from tinywgan.core import mlp as library

library.Tanh.df = lambda self, a: 1 - np.tanh(a) ** 2


def passes(ex, *args, **kwargs):
    return grader.Result(ex.name, grader.PASS)


grader.judge = grader.grade = sealed.judge = passes
print("hello from the top of the file")
'''

HOSTILE = {
    "linear_backward": '''
def linear_backward(da, cache):
    class Liar(tuple):
        def __len__(self):
            return 3
    return Liar((da, da))
''',
    "Tanh.df": '''
def df(self, a):
    return 1 - np.tanh(a) ** 2
''',
    "Tanh.d2f": ANSWERS["Tanh.d2f"].replace("    e2 =", "    for i in range(1000):\n"
                                            "        print('flood', i)\n    e2 =", 1),
    "Sigmoid.df": '''
def df(self, a):
    sys.exit(0)
''',
    "Sigmoid.d2f": '''
def d2f(self, a):
    class Sly(Exception):
        def __str__(self):
            raise RuntimeError("no message")
    raise Sly()
''',
    "Softplus.df": '''
def df(self, a):
    raise KeyboardInterrupt
''',
    "SiLU.df": '''
def df(self, a):
    while True:
        pass
''',
    "SiLU.d2f": '''
def d2f(self, a):
    os._exit(0)
''',
    "Softplus.d2f": '''
def d2f(self, a):
    os.kill(os.getpid(), 9)
''',
    "activation_backward": '''
def activation_backward(dh, cache):
    a, act = cache
    dh *= act.df(a)
    return dh
''',
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A workbook whose 01_layers.py is hostile, 02_mlp.py calls sys.exit(0) and 03_penalty.py
    os._exit(3) as they are imported, graded on the command line with --json: (exit status,
    {name: row}, the report's text, seconds)."""
    folder = str(tmp_path_factory.mktemp("hostile"))
    workbook.init(folder)
    for k, (name, source) in enumerate(HOSTILE.items()):
        fill(folder, find(name), source, PATCHES if k == 0 else "")
    for file, top in (("02_mlp.py", "import sys\nsys.exit(0)\n"),
                      ("03_penalty.py", "import os\nos._exit(3)\n")):
        with open(os.path.join(folder, file), "a") as f:
            f.write(top)
    names = list(HOSTILE) + ["mlp_backward", "penalty_head"]
    started, text = time.monotonic(), io.StringIO()
    with contextlib.redirect_stdout(text):
        status = main(["exercises", "check", "--time-limit", str(LIMIT), "--json", folder,
                       *names])
    doc = json.loads(text.getvalue())
    assert doc["exit_status"] == status
    return status, {r["name"]: r for r in doc["exercises"]}, doc["report"], \
        time.monotonic() - started


def _row(rows, name, status, *words):
    row = rows[name]
    text = "\n".join(row["lines"])
    assert row["status"] == status and all(w in text for w in words), row
    return row


def test_every_hostile_exercise_is_one_clear_row_and_the_status_fails(hostile):
    status, rows, report, _ = hostile
    assert status == 1 and "Traceback" not in report, report
    _row(rows, "linear_backward", FAIL, "returned a Liar of 2; expected a tuple of 3")
    _row(rows, "Sigmoid.df", FAIL, "called sys.exit(0)", "line")
    _row(rows, "Sigmoid.d2f", FAIL, "raised Sly", "str() raised RuntimeError")
    _row(rows, "Softplus.df", FAIL, "raised KeyboardInterrupt")
    _row(rows, "SiLU.d2f", FAIL, "the process running it exited with status 0")
    _row(rows, "Softplus.d2f", FAIL, "the process running it was killed by SIGKILL")


def test_an_endless_loop_times_out_and_the_rest_is_graded(hostile):
    status, rows, _, seconds = hostile
    _row(rows, "SiLU.df", FAIL, "timed out after %g s" % LIMIT)
    assert rows["Tanh.d2f"]["status"] == PASS and rows["activation_backward"]["status"] == FAIL
    assert seconds < 60


def test_exits_while_importing_fail_every_exercise_of_the_file(hostile):
    _, rows, _, _ = hostile
    _row(rows, "mlp_backward", FAIL, "02_mlp.py does not run: it calls sys.exit")
    _row(rows, "penalty_head", FAIL, "03_penalty.py does not run", "exited with status 3")


def test_a_patched_library_and_grader_are_graded_against_the_unpatched_answer(hostile):
    """The workbook sets tinywgan's Tanh.df to 1 - tanh^2 and replaces the grader's verdict:
    its own Tanh.df, the catalogued mistake, still fails, with its hint."""
    _, rows, _, _ = hostile
    row = _row(rows, "Tanh.df", FAIL, "first at a")
    assert "1 - tanh(a)^2" in row["hints"]


def test_an_input_written_in_place_is_named(hostile):
    _, rows, _, _ = hostile
    _row(rows, "activation_backward", FAIL, "changed its input dh in place")


def test_prints_are_shown_under_their_row_cut_short(hostile):
    _, rows, report, _ = hostile
    printed = rows["Tanh.d2f"]["printed"]
    assert printed.startswith("flood 0") and "more bytes)" in printed
    assert len(printed.splitlines()) < 10 and report.count("flood") < 10
    assert "01_layers.py printed while being imported:\n    | hello from the top" in report


def test_an_mlp_backward_that_changes_the_weights_is_named():
    """Right gradients, but the weights scaled after: the row names the weight."""
    def backward(net, dout, cache):
        dx = MLP.backward(net, dout, cache)
        net.W[1][...] *= 1.5
        return dx
    result = grade(find("mlp_backward"), backward, None)
    assert result.status == FAIL and "changed its input net.W[1] in place" in result.lines[0]


# ---- notebooks, --strict, a syntax error ---------------------------------------------------------

def test_a_newer_notebook_is_graded_and_said(tmp_path):
    """A learner who worked in 01_layers.ipynb (edited through nbformat, so newer than the
    .py) is graded on the notebook."""
    jupytext = pytest.importorskip("jupytext")
    folder = str(tmp_path)
    workbook.init(folder)
    py, ipynb = os.path.join(folder, "01_layers.py"), os.path.join(folder, "01_layers.ipynb")
    notebook = jupytext.read(py)
    (cell,) = [c for c in notebook.cells if "def linear_backward(" in c.source]
    cell.source = cell.source[:cell.source.index("def linear_backward(")] \
        + ANSWERS["linear_backward"].strip()
    import nbformat
    nbformat.write(notebook, ipynb)
    os.utime(py, (time.time() - 60,) * 2)
    lines = []
    (result,) = check(folder, ["linear_backward"], out=lines.append)
    assert result.status == PASS, result.lines
    assert "01_layers.py: graded 01_layers.ipynb, newer than the .py (read with jupytext)" \
        in lines
    path, note, problem = workbook.source(folder, "02_mlp.py", str(tmp_path))
    assert path == os.path.join(folder, "02_mlp.py") and note is problem is None


def test_a_newer_notebook_without_jupytext_is_refused_in_one_line(tmp_path, monkeypatch):
    folder = str(tmp_path)
    workbook.init(folder)
    with open(os.path.join(folder, "01_layers.ipynb"), "w") as f:
        f.write("{}")
    monkeypatch.setitem(sys.modules, "jupytext", None)
    path, _, problem = workbook.source(folder, "01_layers.py", str(tmp_path))
    assert path is None and "jupytext --sync" in problem and "\n" not in problem


def test_strict_counts_not_started_as_a_failure(tmp_path, capsys):
    folder = str(tmp_path)
    workbook.init(folder)
    assert main(["exercises", "check", folder, "clip_weights"]) == 0
    capsys.readouterr()
    assert main(["exercises", "check", "--strict", "--json", folder, "clip_weights"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["exercises"][0]["status"] == NOT_STARTED and doc["exit_status"] == 1


def test_a_syntax_error_names_its_line_once(tmp_path, capsys):
    folder = str(tmp_path)
    workbook.init(folder)
    with open(os.path.join(folder, "05_lipschitz_and_optim.py"), "a") as f:
        f.write("\ndef broken(:\n")
    assert main(["exercises", "check", folder, "clip_weights"]) == 1
    out = capsys.readouterr().out
    assert "05_lipschitz_and_optim.py does not run: SyntaxError: " in out
    assert out.count("line ") == 1 and "Traceback" not in out, out
