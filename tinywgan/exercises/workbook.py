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
import traceback

from .catalogue import FILES

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
    """Import each workbook file of ``folder``. Returns {file: (namespace, problem)}: the
    module's dict and None, or None and why it could not be read ('missing', or the error it
    raised on import, with its line)."""
    if not os.path.isdir(folder):
        raise FileNotFoundError("%s is not a folder; write the workbook there first: python -m "
                                "tinywgan exercises init %s" % (folder, folder))
    loaded = {}
    for file in FILES:
        path = os.path.join(folder, file)
        if not os.path.exists(path):
            loaded[file] = (None, "missing (python -m tinywgan exercises init %s writes it)"
                            % folder)
            continue
        name = "tinywgan_workbook_" + os.path.splitext(file)[0]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        dont_write = sys.dont_write_bytecode
        sys.dont_write_bytecode = True              # no __pycache__ in the learner's folder
        try:
            spec.loader.exec_module(module)
        except Exception as e:                      # a learner's file: any error at all
            loaded[file] = (None, "%s does not run: %s: %s%s" % (
                file, type(e).__name__, e, _line(e, path)))
            continue
        finally:
            sys.dont_write_bytecode = dont_write
        loaded[file] = (vars(module), None)
    return loaded


def _line(e, path):
    """' (line N)' of the error in the file at ``path``, if it says."""
    if isinstance(e, SyntaxError) and e.lineno:
        return " (line %d)" % e.lineno
    lines = [s.lineno for s in traceback.extract_tb(e.__traceback__)
             if os.path.abspath(s.filename) == os.path.abspath(path)]
    return " (line %d)" % lines[-1] if lines else ""
