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
import math
import os
import queue
import shutil
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
#: What is shown of a learner's printed output under its row; and the most any file the child
#: writes may hold (a print past it raises OSError: File too large), so that a flood of prints
#: cannot fill the disk.
SHOWN_LINES, SHOWN_WIDTH = 6, 160
MAX_FILE_BYTES = 16 * 2 ** 20

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def grade_files(files, chosen, seed=0, limit=TIME_LIMIT):
    """Grade the exercises ``chosen`` (``spec.Exercise``) in sealed children, one per workbook
    file, all started at once (each file's verdicts are reached here while the others run).
    ``files``: {file: (path, note, problem)} (``workbook.source``); path None with no problem:
    tinywgan's own answers. Returns (results in the order chosen, notes)."""
    results, notes, children = {}, [], {}
    work = {file: [ex for ex in chosen if ex.file == file] for file in files}
    with tempfile.TemporaryDirectory(prefix="tinywgan-check-") as out:
        try:
            for file, (path, _, problem) in files.items():
                if work[file] and not problem:
                    children[file] = _Child(path, file, work[file], seed, out)
            for file, (path, note, problem) in files.items():
                todo = work[file]
                notes += [note] if note and todo else []
                while todo:
                    if problem:                      # said on each row, or once if missing
                        missing = problem.startswith("missing")
                        notes += ["%s: %s" % (file, problem)] if missing else []
                        results.update((ex.name, Result(
                            ex.name, NOT_STARTED if missing else FAIL,
                            lines=[] if missing else [problem])) for ex in todo)
                        break
                    child = children.pop(file, None) or _Child(path, file, todo, seed, out)
                    finished, stop, problem = child.follow(limit)
                    for ex in finished:
                        results[ex.name], note = _collect(ex, seed, child.out)
                        notes += [note] if note else []
                    notes += _printed_note(file, child.out)
                    todo = [ex for ex in todo if ex not in finished]
                    if stop is not None:
                        ex, why = stop
                        results[ex.name] = Result(ex.name, FAIL, lines=[why],
                                                  cases=len(ex.cases(ex.rng(seed))),
                                                  printed=_printed(child.out, ex.name))
                        todo.remove(ex)
        finally:
            for child in children.values():          # interrupted: none left running
                child.end()
    return [results[ex.name] for ex in chosen], notes


class _Child:
    """One child process grading ``exercises`` of one workbook file (at ``path``), writing
    into a folder of its own under ``out``."""

    def __init__(self, path, file, exercises, seed, out):
        self.file, self.exercises = file, exercises
        self.out = os.path.join(out, os.path.splitext(file)[0])
        shutil.rmtree(self.out, ignore_errors=True)      # nothing left by a former child
        os.makedirs(self.out)
        order = {"file": path, "name": file, "exercises": [ex.name for ex in exercises],
                 "seed": seed}
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [_PACKAGE_PARENT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        with open(os.path.join(self.out, "child.err"), "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tinywgan.exercises.sealed", self.out, json.dumps(order)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env)
        self.started = time.monotonic()
        self.lines = queue.Queue()
        threading.Thread(target=_read, args=(self.process.stdout, self.lines),
                         daemon=True).start()

    def follow(self, limit):
        """Read what the child says until it ends, is stopped, or is past a limit (each limit
        counted from when the child said it began, whenever this reads it). Returns (the
        exercises it finished, (the exercise it stopped in, why) or None, a problem that stops
        the whole file or None)."""
        finished, by_name = [], {ex.name: ex for ex in self.exercises}
        current, deadline = None, self.started + START_LIMIT
        try:
            while True:
                try:
                    when, line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    when = math.inf
                if when > deadline:
                    self.end()
                    if current is None:
                        return finished, None, ("%s does not run: its import (the code outside "
                                                "the exercises) timed out after %g s"
                                                % (self.file, limit))
                    return finished, (current, "timed out after %g s (an endless loop?); the "
                                               "other exercises are still graded" % limit), None
                if line is None:                             # the child ended
                    status = self.process.wait()
                    if current is not None:
                        return finished, (current, "the process running it %s in this exercise"
                                          % _ended(status)), None
                    if status == 0 and len(finished) == len(by_name):
                        return finished, None, None
                    problem = _read_json(os.path.join(self.out, "import.json"))
                    return finished, None, problem if isinstance(problem, str) else (
                        "%s does not run: the process importing it %s%s"
                        % (self.file, _ended(status), _last_words(self.out)))
                word, _, name = line.partition(" ")
                if word in ("ready", "imported"):
                    deadline = when + limit
                elif word == "begin" and name in by_name:
                    current, deadline = by_name[name], when + limit
                elif word == "done" and current is not None and name == current.name:
                    finished.append(current)
                    current = None
        finally:
            self.end()

    def end(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()


def _read(stream, lines):
    """(when, line) for each line the child says, then (when, None) as it ends."""
    for line in iter(stream.readline, b""):
        lines.put((time.monotonic(), line.decode("ascii", "replace").strip()))
    lines.put((time.monotonic(), None))


def _ended(status):
    """'exited with status 0 (os._exit, or a crash)' or 'was killed by SIGKILL'."""
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
    """A try as ``grader.attempt`` made it, from its JSON form (``_save``) and the arrays."""
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
    path = os.path.join(out, name + ".out")
    try:
        with open(path, "rb") as f:
            text = f.read(SHOWN_LINES * (SHOWN_WIDTH + 1)).decode("utf-8", "replace")
        size = os.path.getsize(path)
    except OSError:
        return ""
    lines = text.splitlines()[:SHOWN_LINES]
    shown = [line[:SHOWN_WIDTH] + (" ..." if len(line) > SHOWN_WIDTH else "") for line in lines]
    rest = size - len("\n".join(lines).encode("utf-8", "replace")) - 1
    if rest > 0:
        shown.append("... (%d more bytes)" % rest)
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
    if hasattr(signal, "SIGXFSZ"):                   # POSIX: a write past the size fails
        import resource
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))

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
        obj, stub, note = (reference(ex), None, None) if namespace is None \
            else solution(ex, namespace)
        tries = attempt(ex, obj, stub, cases[ex.name]) if obj is not None \
            else [{"not started": True}]
        _save(os.path.join(out, ex.name), tries, note)
        say("done", ex.name)


def _capture(out, name):
    """Send file descriptors 1 and 2 (print, warnings, C code) to out/name.out from now on."""
    _flush()
    fd = os.open(os.path.join(out, name + ".out"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _flush():
    """Flush what Python holds for fds 1 and 2, whatever the learner's code made of them."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:                    # replaced, closed, set to None
            pass


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
    _flush()
    os._exit(0)        # now: not after a thread or an atexit hook the learner's code left behind
