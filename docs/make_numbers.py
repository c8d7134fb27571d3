"""The main job's numbers in the README, made by one command and recorded.

    python docs/make_numbers.py                       # every run the README quotes (~8 min)
    python docs/make_numbers.py "python -m tinywgan train --method gan"   # only these commands

For each command (every row of the README's main-job table, read from the README itself, and
the ``EXTRA`` runs quoted in the sentences under it): run it in a work folder,
``build/numbers/``, with ``--out run --no-figure`` added (neither changes a number), and record
in ``docs/numbers.json`` its numbers from the run's ``metrics.json``, the lines it printed on
its BLAS threads and its result, its wall and CPU seconds, the load average at its end and the
date; and, once, the machine: Python, NumPy, the BLAS library and its kernel (threadpoolctl),
the cores and the load average. ``table_row`` formats a record as the README's table row; the
test suite checks that every row of the table is its record's, and repeats the short ``CHECK``
run to see that the record's machine still gives its numbers.

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


def run(command, work):
    """Run the README ``command`` in ``work``; returns its record."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    argv = [sys.executable] + command.split()[1:] + ["--out", "run", "--no-figure"]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(argv, cwd=work, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if out.returncode != 0:
        raise SystemExit("make_numbers: `%s` failed (exit %d):\n%s"
                         % (command, out.returncode, out.stdout[-3000:]))
    with open(os.path.join(work, "run", "metrics.json")) as f:
        metrics = json.load(f)
    lines = out.stdout.splitlines()
    printed = [ln for ln in lines if ln.startswith(("threads:", "done:"))]
    return dict(metrics, printed=printed, wall_seconds=round(wall, 1),
                cpu_seconds=round(cpu, 1), load_average=round(os.getloadavg()[0], 2),
                date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def main(argv=None):
    with open(os.path.join(ROOT, "README.md")) as f:
        table = readme_commands(f.read())
    everything = table + list(EXTRA) + [CHECK]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("commands", nargs="*", help="commands to run again (default: all): %s"
                   % "; ".join(everything))
    p.add_argument("--work", metavar="DIR", default=os.path.join(ROOT, "build", "numbers"),
                   help="the folder the commands run in (default: build/numbers)")
    args = p.parse_args(argv)
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
