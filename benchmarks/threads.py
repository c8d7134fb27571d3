"""How fast does the main job train at each BLAS thread policy, idle and beside busy processes?

    python benchmarks/threads.py                    # idle: auto, --threads 1, --threads 0
    python benchmarks/threads.py --busy 2           # beside two busy processes (a loaded laptop)
    python benchmarks/threads.py --iters 8000 --repeats 2 --env   # also OPENBLAS_NUM_THREADS=1
    python benchmarks/threads.py --width 512 --n-critic 5         # gan_toy's sizes: any other
                                                                  # flag goes to train

Each repeat runs ``python -m tinywgan train --iters ITERS --no-figure --quiet`` once per policy,
the policies in turn (interleaved, so a change in the machine's load falls on all of them), and
prints one line per run: iterations per second of training (``metrics.json``: iters / seconds),
the load average when it ended, and for ``auto`` each count's share of its iterations. The policies:

- ``auto``: train's default (``tinywgan.threads.Chooser``: one thread or every core, whichever
  runs the iterations faster, timed as it goes);
- ``--threads 1``: one BLAS thread, every other command's default;
- ``--threads 0``: the BLAS library's default, a thread per core (what NumPy does untold);
- ``OPENBLAS_NUM_THREADS=1`` (``--env``): one thread set in the environment, the reference that
  issue 23 compares ``auto`` against under load.

``--busy K`` starts K processes that spin (``while True: pass``) 20 seconds before the first run
and stops them after the last. The thread count changes no number, only the speed: every run of
one repeat writes the same W1.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tinywgan import threads  # noqa: E402  (the checkout's, as the children run it)


def policies(env):
    """[(name, extra flags, extra environment)]: the policies each repeat runs, in order."""
    out = [("auto", [], {}), ("--threads 1", ["--threads", "1"], {}),
           ("--threads 0", ["--threads", "0"], {})]
    return out + ([("OPENBLAS_NUM_THREADS=1", [], {"OPENBLAS_NUM_THREADS": "1"})] if env else [])


def train(iters, flags, extra_env, out, train_flags=()):
    """One train run in a child process; returns its metrics.json as a dict."""
    env = {k: v for k, v in os.environ.items() if k not in threads.VARIABLES}
    env.update(extra_env, PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""))
    command = [sys.executable, "-m", "tinywgan", "train", "--iters", str(iters), "--no-figure",
               "--quiet", "--out", out] + list(train_flags) + flags
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit("benchmarks/threads.py: %s failed (exit %d):\n%s"
                         % (" ".join(command), done.returncode, done.stderr[-2000:]))
    with open(os.path.join(out, "metrics.json")) as f:
        return json.load(f)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iters", type=int, default=2000, help="iterations per run (default 2000)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each policy (default 3)")
    p.add_argument("--busy", type=int, default=0, help="busy processes beside it (default 0)")
    p.add_argument("--env", action="store_true", help="also OPENBLAS_NUM_THREADS=1")
    args, train_flags = p.parse_known_args(argv)
    if args.iters < 1 or args.repeats < 1 or args.busy < 0:
        p.error("--iters and --repeats must be >= 1 and --busy >= 0, got %d, %d, %d"
                % (args.iters, args.repeats, args.busy))
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(args.busy)]
    try:
        if spinners:
            time.sleep(20)                       # the load average climbs to what it will be
        print("train --iters %d%s, %d busy process%s beside it, %d cores, %s"
              % (args.iters, "".join(" " + f for f in train_flags), args.busy,
                 "" if args.busy == 1 else "es", os.cpu_count(), time.strftime("%Y-%m-%d %H:%M")))
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(1, args.repeats + 1):
                for name, flags, extra_env in policies(args.env):
                    m = train(args.iters, flags, extra_env, os.path.join(tmp, str(r) + name),
                              train_flags)
                    print("%d  %-24s %7.1f it/s  W1 %.6f  load %.2f%s"
                          % (r, name, m["iters"] / m["seconds"], m["w1"], os.getloadavg()[0],
                             "  " + threads.split(m["blas_threads"]) if "blas_threads" in m
                             else ""), flush=True)
    finally:
        for s in spinners:
            s.kill()
            s.wait()


if __name__ == "__main__":
    main()
