"""The main job's and the lessons' numbers in the README, made by one command and recorded.

    python docs/make_numbers.py                       # every run the README quotes (~8 min)
    python docs/make_numbers.py "python -m tinywgan train --method gan"   # only these commands
    python docs/make_numbers.py --lessons             # every lesson's command (~20 min)
    python docs/make_numbers.py --lessons 4 11        # only these lessons

For each command (every row of the README's main-job table, read from the README itself, and
the ``EXTRA`` runs quoted in the sentences under it): run it in a work folder,
``build/numbers/``, with ``--out run --no-figure`` added (neither changes a number), and record
in ``docs/numbers.json`` its numbers from the run's ``metrics.json``, the lines it printed on
its BLAS threads and its result, its wall and CPU seconds, the load average at its end and the
date; and, once, the machine: Python, NumPy, the BLAS library and its kernel (threadpoolctl),
the cores and the load average. ``table_row`` formats a record as the README's table row; the
test suite checks that every row of the table is its record's, and repeats the short ``CHECK``
run to see that the record's machine still gives its numbers.

With ``--lessons``: run the command under each lesson of the README's tour (``python
demos/NN_name.py``, read from the README) in ``build/numbers/lessons/``, as the README gives it
but with ``--workers 1`` where the lesson has that flag (its runs one after another: the same
numbers, one core), and record in ``docs/numbers.json``, under ``"lessons"``, the lines it
printed, its wall and CPU seconds, the load average at its end and the date (on the record's
machine: it stops where this one differs, the load aside). The test suite checks that every
number a lesson's paragraph quotes from its run is among the lines recorded.
(Here rather than in make_pictures.py: recording the numbers leaves the pictures alone.)

The numbers are seed 0's unless the command says otherwise, and machine-dependent: another BLAS
kernel (or a GPU) sums the products in another order, and training amplifies the rounding.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time

DOCS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(DOCS)
RECORD = os.path.join(DOCS, "numbers.json")
TRAIN = "python -m tinywgan train"
#: Runs quoted under the table (the default run's other seeds).
EXTRA = (TRAIN + " --seed 1", TRAIN + " --seed 2")
#: A short run the test suite repeats to check that this machine still gives the record's numbers.
CHECK = TRAIN + " --iters 1000 --eval-n 1000"


def readme_commands(readme):
    """The commands of the README's main-job table (in its section "## The main job"), in order."""
    section = readme.split("\n## The main job\n")[1].split("\n## ")[0]
    return re.findall(r"^\| `(%s[^`]*)` \|" % re.escape(TRAIN), section, re.M)


def lessons(readme):
    """{lesson number: (its text, its command)} from the README's section "## The
    lessons in pictures": the text is the subsection's prose, after its heading and picture, up to
    its command's line."""
    section = readme.split("\n## The lessons in pictures\n")[1].split("\n## ")[0]
    out = {}
    for part in re.split(r"^### ", section, flags=re.M)[1:]:
        title = part.split("\n")[0]
        command = re.search(r"^    (python demos/\d\d_\w+\.py)", part, re.M)
        text = re.sub(r"^!\[.*$", "", part[len(title):command.start()], flags=re.M).strip()
        out[int(title.split(".")[0])] = (text, command.group(1))
    return out


def table_row(command, rec):
    """The README's table row for ``command``'s record: modes, high quality, W1 / floor, wall."""
    if "modes" in rec:
        modes, hq = "%d/%d" % (rec["modes"], rec["modes_total"]), "%.3f" % rec["high_quality"]
        ratio = "%.2f" % rec["w1_ratio"]
    else:                                                   # the digits
        modes, hq, ratio = "-", "-", "%.2f (n = %d)" % (rec["w1_ratio"], rec["eval_n"])
    return "| `%s` | %s | %s | %s | %.0f s |" % (command, modes, hq, ratio, rec["wall_seconds"])


def machine():
    """Where the numbers were made: they depend on the BLAS kernel (see the module's docstring)."""
    import numpy
    from threadpoolctl import threadpool_info
    blas = [{k: i.get(k) for k in ("internal_api", "version", "architecture")}
            for i in threadpool_info() if i["user_api"] == "blas"]
    return {"python": platform.python_version(), "numpy": numpy.__version__, "blas": blas,
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def _timed(command, argv, work, env, stderr):
    """Run ``argv`` in ``work``; returns (its output, the record's timing and date fields).
    A failure stops the script with the command's last output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(argv, cwd=work, env=env, stdout=subprocess.PIPE, stderr=stderr,
                         text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if out.returncode != 0:
        raise SystemExit("make_numbers: `%s` failed (exit %d):\n%s"
                         % (command, out.returncode, (out.stdout + (out.stderr or ""))[-3000:]))
    return out, dict(wall_seconds=round(wall, 1), cpu_seconds=round(cpu, 1),
                     load_average=round(os.getloadavg()[0], 2),
                     date=datetime.datetime.now(datetime.timezone.utc).strftime(
                         "%Y-%m-%d %H:%M UTC"))


def run(command, work):
    """Run the README ``command`` in ``work``; returns its record."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    argv = [sys.executable] + command.split()[1:] + ["--out", "run", "--no-figure"]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out, stamp = _timed(command, argv, work, env, subprocess.STDOUT)
    with open(os.path.join(work, "run", "metrics.json")) as f:
        metrics = json.load(f)
    printed = [ln for ln in out.stdout.splitlines() if ln.startswith(("threads:", "done:"))]
    return dict(metrics, printed=printed, **stamp)


def run_lesson(command, work):
    """Run the README lesson ``command`` in ``work`` (one worker, no budget variable); returns
    its record."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    script = os.path.join(ROOT, command.split()[1])
    argv = [sys.executable, script]
    with open(script) as f:
        if re.search(r"^    workers: int", f.read(), re.M):
            argv += ["--workers", "1"]
    env = {k: v for k, v in os.environ.items() if k not in ("TINYWGAN_SMOKE", "TINYWGAN_FULL")}
    env.update(MPLBACKEND="Agg", PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""))
    out, stamp = _timed(command, argv, work, env, subprocess.PIPE)
    return dict(ran=" ".join(["python", command.split()[1]] + argv[2:]),
                printed=out.stdout.splitlines(), **stamp)


def main_lessons(numbers, work):
    """``--lessons``: run the lessons ``numbers`` (all if empty) and record what they print."""
    with open(os.path.join(ROOT, "README.md")) as f:
        tour = lessons(f.read())
    unknown = [n for n in numbers if n not in tour]
    if unknown:
        raise SystemExit("make_numbers: no such lesson: %s (there are 1 to %d)"
                         % (unknown, max(tour)))
    with open(RECORD) as f:
        record = json.load(f)
    here = {k: v for k, v in machine().items() if k != "load_average"}
    if any(record["machine"][k] != v for k, v in here.items()):
        raise SystemExit("make_numbers: docs/numbers.json's runs were made with %s, this is %s: "
                         "make them again first (python docs/make_numbers.py), then the lessons"
                         % (record["machine"], here))
    record.setdefault("lessons", {})
    for n in numbers or sorted(tour):
        command = tour[n][1]
        print("%-48s ..." % command, end=" ", flush=True)
        record["lessons"][command] = run_lesson(command, os.path.join(work, "%02d" % n))
        print("%.0f s" % record["lessons"][command]["wall_seconds"], flush=True)
        record["lessons"] = dict(sorted(record["lessons"].items()))
        with open(RECORD, "w") as f:                    # after each run: a long one is kept
            json.dump(record, f, indent=1)
            f.write("\n")
    print("wrote %s" % RECORD)


def main(argv=None):
    with open(os.path.join(ROOT, "README.md")) as f:
        table = readme_commands(f.read())
    everything = table + list(EXTRA) + [CHECK]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("commands", nargs="*", help="commands to run again (default: all): %s; "
                   "with --lessons, lesson numbers" % "; ".join(everything))
    p.add_argument("--lessons", action="store_true",
                   help="record the lessons' printed lines instead (all, or the numbers given)")
    p.add_argument("--work", metavar="DIR", default=os.path.join(ROOT, "build", "numbers"),
                   help="the folder the commands run in (default: build/numbers)")
    args = p.parse_args(argv)
    if args.lessons:
        if not all(c.isdigit() for c in args.commands):
            p.error("--lessons takes lesson numbers: %s" % " ".join(args.commands))
        return main_lessons([int(c) for c in args.commands], os.path.join(args.work, "lessons"))
    unknown = [c for c in args.commands if c not in everything]
    if unknown:
        p.error("not a command the README quotes: %s" % "; ".join(unknown))
    record = {"machine": None, "runs": {}}
    if os.path.isfile(RECORD):
        with open(RECORD) as f:
            record = json.load(f)
    record["machine"] = machine()
    for i, command in enumerate(args.commands or everything):
        print("%-55s ..." % command, end=" ", flush=True)
        record["runs"][command] = run(command, os.path.join(args.work, str(i)))
        print("%.0f s" % record["runs"][command]["wall_seconds"], flush=True)
        record["runs"] = {c: record["runs"][c] for c in everything if c in record["runs"]}
        with open(RECORD, "w") as f:                    # after each run: a long one is kept
            json.dump(record, f, indent=1)
            f.write("\n")
    print("wrote %s; the README's table rows:" % RECORD)
    for command in table:
        if command in record["runs"]:
            print(table_row(command, record["runs"][command]))


if __name__ == "__main__":
    main()
