r"""Sealed runs: each workbook file is graded in a child process of its own, so that nothing the
learner's code does reaches the verdict.

The grader's process (``grade_files``) never imports the learner's code. For each workbook file
it starts ``python -m tinywgan.exercises.sealed`` (``sys.executable``: a fresh interpreter, not a
fork of this one), which imports the file and runs each exercise's solution on the cases
(``grader.attempt``), then writes what came out, numbers and words only, as JSON and .npz files
(read back with ``allow_pickle=False``: no pickle crosses). The grader's process draws the same
cases, computes tinywgan's answers and the differences and compares (``grader.judge``). So a
workbook that assigns to the library (``mlp.Tanh.df = ...``) or to the grader's own functions
changes only its own process, and is graded against the unpatched answer.

The child says on a pipe where it is ("ready", "imported", "begin NAME", "done NAME"), and each
exercise (and the file's import) has ``limit`` seconds: past it the child is killed, the row
says "timed out", and a new child grades the exercises left. A child that ends on its own in an
exercise (``sys.exit`` at the top of the file, ``os._exit``, a crash, a signal) is named on that
exercise's row; each such row is a FAIL, so ``exercises check`` exits non-zero. What the
learner's code prints (file descriptors 1 and 2, C code included) goes to a file per exercise,
shown under its row, cut short.
"""
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from .catalogue import EXERCISES
from .grader import FAIL, NOT_STARTED, Result, attempt, judge, quoted, reference, solution
from .spec import Said
from .workbook import load_file

#: Seconds each exercise may run (all its cases), and the learner's file its import.
TIME_LIMIT = 20.0
#: Seconds the child may take to start (Python, NumPy, tinywgan) before the learner's code runs.
START_LIMIT = 120.0
#: What is shown of a learner's printed output under its row.
SHOWN_LINES, SHOWN_WIDTH = 6, 160

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def grade_files(files, chosen, seed=0, limit=TIME_LIMIT):
    """Grade the exercises ``chosen`` (``spec.Exercise``) in sealed children, one per workbook
    file. ``files``: {file: (path, note, problem)} (``workbook.source``); path None with no
    problem: tinywgan's own answers. Returns (results in the order chosen, notes)."""
    results, notes = {}, []
    with tempfile.TemporaryDirectory(prefix="tinywgan-check-") as out:
        for file, (path, note, problem) in files.items():
            todo = [ex for ex in chosen if ex.file == file]
            notes += [note] if note and todo else []
            while todo:
                if problem:
                    missing = problem.startswith("missing")
                    notes.append("%s: %s" % (file, problem))
                    results.update((ex.name, Result(ex.name, NOT_STARTED if missing else FAIL,
                                                    lines=[] if missing else [problem]))
                                   for ex in todo)
                    break
                finished, stop, problem = _child(path, file, todo, seed, limit, out)
                for ex in finished:
                    results[ex.name], note = _collect(ex, seed, out)
                    notes += [note] if note else []
                notes += _printed_note(file, out)
                todo = [ex for ex in todo if ex not in finished]
                if stop is not None:
                    ex, why = stop
                    results[ex.name] = Result(ex.name, FAIL, cases=len(ex.cases(ex.rng(seed))),
                                              lines=[why], printed=_printed(out, ex.name))
                    todo.remove(ex)
    return [results[ex.name] for ex in chosen], notes


def _child(path, file, exercises, seed, limit, out):
    """Run one child on ``exercises`` of one file. Returns (those it finished, (the exercise
    it stopped in, why) or None, a problem that stops the whole file or None)."""
    for name in os.listdir(out):                     # a fresh start: no file of a former child
        os.remove(os.path.join(out, name))
    order = {"file": path, "name": file, "exercises": [ex.name for ex in exercises],
             "seed": seed}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [_PACKAGE_PARENT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    with open(os.path.join(out, "child.err"), "wb") as err:
        child = subprocess.Popen([sys.executable, "-m", "tinywgan.exercises.sealed", out,
                                  json.dumps(order)], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=err, env=env)
    lines = queue.Queue()
    threading.Thread(target=_read, args=(child.stdout, lines), daemon=True).start()
    finished, by_name = [], {ex.name: ex for ex in exercises}
    current, deadline = None, time.monotonic() + START_LIMIT
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                child.kill()
                child.wait()
                if current is None:
                    return finished, None, ("%s does not run: its import (the code outside the "
                                            "exercises) timed out after %g s" % (file, limit))
                return finished, (current, "timed out after %g s (an endless loop?); the other "
                                           "exercises are still graded" % limit), None
            if line is None:                             # the child ended
                status = child.wait()
                if current is not None:
                    return finished, (current, "the process running it %s in this exercise"
                                      % _ended(status)), None
                if status == 0 and not set(by_name) - {ex.name for ex in finished}:
                    return finished, None, None
                problem = _read_json(os.path.join(out, "import.json"))
                return finished, None, problem if isinstance(problem, str) else (
                    "%s does not run: the process importing it %s%s"
                    % (file, _ended(status), _last_words(out)))
            word, _, name = line.partition(" ")
            if word in ("ready", "imported"):
                deadline = time.monotonic() + limit
            elif word == "begin" and name in by_name:
                current, deadline = by_name[name], time.monotonic() + limit
            elif word == "done" and current is not None and name == current.name:
                finished.append(current)
                current = None
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()


def _read(stream, lines):
    for line in iter(stream.readline, b""):
        lines.put(line.decode("ascii", "replace").strip())
    lines.put(None)


def _ended(status):
    """'exited with status 0 (sys.exit or os._exit, or a crash)' or 'was killed by SIGKILL'."""
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = "signal %d" % -status
        return "was killed by %s" % name
    return "exited with status %d (os._exit, or a crash)" % status


def _last_words(out):
    """': <the last line the child wrote to stderr>' (Python's own error, if it failed to start)."""
    try:
        with open(os.path.join(out, "child.err"), errors="replace") as f:
            last = [line.strip() for line in f if line.strip()][-1:]
    except OSError:
        last = []
    return ": " + last[0][:SHOWN_WIDTH] if last else ""


def _collect(ex, seed, out):
    """(Result, note) of an exercise the child finished: its tries judged here."""
    doc = _read_json(os.path.join(out, ex.name + ".json"))
    printed = _printed(out, ex.name)
    cases = ex.cases(ex.rng(seed))
    try:
        with np.load(os.path.join(out, ex.name + ".npz"), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        tries = [_decode(t, arrays) for t in doc["tries"]]
        if not 1 <= len(tries) <= len(cases):
            raise ValueError("%d tries for %d cases" % (len(tries), len(cases)))
        note = doc.get("note")
    except Exception as e:                       # written by a child the learner's code ran in
        return Result(ex.name, FAIL, cases=len(cases), printed=printed, lines=[
            "its results could not be read back from the process that ran it (%s: %s)"
            % (type(e).__name__, e)]), None
    result = judge(ex, cases, tries)
    result.printed = printed
    return result, note if isinstance(note, str) else None


def _decode(tried, arrays):
    """A try as ``grader.attempt`` made it, from its JSON form (``_encode``) and the arrays."""
    if "ran" not in tried:
        if tried.get("not started") is True:
            return {"not started": True}
        return {"failed": str(tried["failed"])}
    return {"ran": {str(n): Said(v["said"]) if "said" in v else arrays[v["array"]]
                    for n, v in tried["ran"].items()},
            "after": {str(n): arrays[key] for n, key in tried["after"].items()}}


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _printed(out, name):
    """What the learner's code printed in one exercise (or its file's import), cut short."""
    try:
        with open(os.path.join(out, name + ".out"), "rb") as f:
            text = f.read(64 * 1024).decode("utf-8", "replace")
    except OSError:
        return ""
    lines = text.rstrip().splitlines()
    shown = [line[:SHOWN_WIDTH] + (" ..." if len(line) > SHOWN_WIDTH else "")
             for line in lines[:SHOWN_LINES]]
    if len(lines) > SHOWN_LINES:
        shown.append("... (%s more lines)" % (len(lines) - SHOWN_LINES
                                              if len(text) < 64 * 1024 else "many"))
    return "\n".join(shown)


def _printed_note(file, out):
    printed = _printed(out, "import")
    return ["\n".join(["%s printed while being imported:" % file] + quoted(printed))] \
        if printed else []


# ---- the child ---------------------------------------------------------------------------------

def main(out, order):
    """The child: import the learner's file (``order["file"]``; None: grade tinywgan's own
    answers), then run each exercise's solution on its cases and write its tries into ``out``,
    saying on the pipe (file descriptor 1 as it was) where it is."""
    order = json.loads(order)
    pipe = os.fdopen(os.dup(1), "w", buffering=1)

    def say(*words):
        pipe.write(" ".join(words) + "\n")
        pipe.flush()

    _capture(out, "import")
    exercises = [ex for ex in EXERCISES if ex.name in order["exercises"]]
    cases = {ex.name: ex.cases(ex.rng(order["seed"])) for ex in exercises}
    say("ready")
    if order["file"] is None:
        namespace = None
    else:
        namespace, problem = load_file(order["file"], order["name"])
        if problem:
            with open(os.path.join(out, "import.json"), "w") as f:
                json.dump(problem, f)
            return
    say("imported")
    for ex in exercises:
        say("begin", ex.name)
        _capture(out, ex.name)
        note = None
        if namespace is None:
            tries = attempt(ex, reference(ex), None, cases[ex.name])
        else:
            obj, stub = solution(ex, namespace)
            if obj is None and ex.owner in namespace:       # a class without its method
                note = "%s: %s" % (order["name"], stub)
            tries = attempt(ex, obj, stub, cases[ex.name]) if obj is not None \
                else [{"not started": True}]
        _save(os.path.join(out, ex.name), tries, note)
        say("done", ex.name)


def _capture(out, name):
    """Send file descriptors 1 and 2 (print, warnings, C code) to out/name.out from now on."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(os.path.join(out, name + ".out"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _save(base, tries, note):
    """The tries as base.json (words, and the keys of the arrays) and base.npz (the arrays)."""
    arrays = {}

    def key(a):
        arrays["a%d" % len(arrays)] = a
        return "a%d" % (len(arrays) - 1)

    doc = [t if "ran" not in t else
           {"ran": {n: {"said": str(v)} if isinstance(v, Said) else {"array": key(v)}
                    for n, v in t["ran"].items()},
            "after": {n: key(v) for n, v in t["after"].items()}} for t in tries]
    np.savez(base + ".npz", **arrays)
    with open(base + ".json", "w") as f:
        json.dump({"tries": doc, "note": note}, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
