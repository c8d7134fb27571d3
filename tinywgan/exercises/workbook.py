"""The workbook on disk: ``init`` writes its files into a folder (never over a learner's file),
``load`` imports a folder's files for the grader.

The files are Python in the "percent" format (``# %%`` code cells, ``# %% [markdown]`` prose
cells), as the demos are: run them with ``python``, or open them as notebooks (Jupyter with
jupytext, VS Code), or convert them (``jupytext --to notebook 01_layers.py``).
"""
import importlib.util
import os
import shutil
import sys
import tempfile
import traceback

from .catalogue import FILES
from .spec import said

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "workbook")


def template(file):
    """The path of one of the workbook's files as shipped (``FILES``)."""
    return os.path.join(TEMPLATES, file)


def init(folder):
    """Write the workbook's files into ``folder`` (made if missing), keeping any that exist.
    Returns (written, kept): lists of paths."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError("%s exists and is not a folder; give a folder for the workbook" % folder)
    os.makedirs(folder, exist_ok=True)
    written, kept = [], []
    for file in FILES:
        path = os.path.join(folder, file)
        if os.path.exists(path):
            kept.append(path)
        else:
            shutil.copyfile(template(file), path)
            written.append(path)
    return written, kept


def load(folder):
    """Import each workbook file of ``folder`` into this process (a notebook's, a test's; the
    grader's command imports each in a child process instead, ``sealed``). Returns {file:
    (namespace, problem)}: the module's dict and None, or None and why it could not be read
    ('missing', or the error it raised on import, with its line)."""
    loaded = {}
    with tempfile.TemporaryDirectory(prefix="tinywgan-workbook-") as scratch:
        for file in FILES:
            path, _, problem = source(folder, file, scratch)
            loaded[file] = (None, problem) if problem else load_file(path, file)
    return loaded


def source(folder, file, scratch):
    """(path, note, problem): where the work on ``file`` is. The .py; or, where a paired .ipynb
    is newer, the notebook read through jupytext, written as a .py into the folder ``scratch``,
    with a note saying so; or a problem (missing, no jupytext), path None."""
    if not os.path.isdir(folder):
        raise FileNotFoundError("%s is not a folder; write the workbook there first: python -m "
                                "tinywgan exercises init %s" % (folder, folder))
    path = os.path.join(folder, file)
    notebook = os.path.splitext(path)[0] + ".ipynb"
    if os.path.exists(notebook) and (not os.path.exists(path)
                                     or os.path.getmtime(notebook) > os.path.getmtime(path)):
        try:
            import jupytext
        except ImportError:
            return None, None, ("%s is newer than %s: the work in the notebook is not graded "
                                "without jupytext (pip install jupytext, or sync them: "
                                "jupytext --sync %s)" % (notebook, file, notebook))
        converted = os.path.join(scratch, file)
        jupytext.write(jupytext.read(notebook), converted, fmt="py:percent")
        return converted, "%s: graded %s, newer than the .py (read with jupytext)" % (
            file, os.path.basename(notebook)), None
    if not os.path.exists(path):
        return None, None, "missing (python -m tinywgan exercises init %s writes it)" % folder
    return path, None, None


def load_file(path, file):
    """Import the workbook file at ``path`` (``file``: its name in the workbook). Returns
    (namespace, None), or (None, why it did not run, with its line)."""
    name = "tinywgan_workbook_" + os.path.splitext(file)[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True                  # no __pycache__ in the learner's folder
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        return None, "%s does not run: SyntaxError: %s (line %s)" % (file, e.msg, e.lineno)
    except SystemExit as e:
        return None, "%s does not run: it calls sys.exit while being imported%s" % (
            file, _line(e, path))
    except BaseException as e:                      # a learner's file: any error at all
        return None, "%s does not run: %s%s" % (file, said(e), _line(e, path))
    finally:
        sys.dont_write_bytecode = dont_write
    return vars(module), None


def _line(e, path):
    """' (line N)' of the error in the file at ``path``, if it says."""
    lines = [s.lineno for s in traceback.extract_tb(e.__traceback__)
             if os.path.abspath(s.filename) == os.path.abspath(path)]
    return " (line %d)" % lines[-1] if lines else ""
