r"""BLAS threads: how many threads NumPy's matrix products use.

tinywgan's products are small (the default run multiplies 256 x 128 by 128 x 128). Measured on a
2-core machine (the README's "BLAS threads" section has the numbers and the commands), the
default ``train`` ran about 1.3 times as fast at two threads as at one on an idle machine, and 2
to 6 times slower beside two busy processes: BLAS's threads wait for cores that other processes
hold, each product waiting for its slowest thread. A laptop running a browser and an editor is a
busy machine some of the time. So no fixed count is right:

- ``train`` chooses as it runs (``"auto"``, its default): a ``Chooser`` times the run's own
  iterations at one thread and at every core and uses the faster, trying again now and then and
  at once when an iteration at every core slows down (a busy process arrived);
- every other command (``sample``, ``gradcheck``, ``bench``, ``exercises check``, ``bugzoo``, the
  lessons and ``table``) uses ``DEFAULT`` = 1 BLAS thread, the count that never collapses:

    python -m tinywgan train --threads 2        # N threads; 0: the BLAS library's own default
    OPENBLAS_NUM_THREADS=4 python -m tinywgan train   # a count in the environment is kept

A library user sets it the same way (``tinywgan.threads.use(1)`` before the work, or
``Config(threads="auto")`` for a TrainingJob), or with threadpoolctl directly
(``threadpoolctl.threadpool_limits(1, user_api="blas")``).

How: before NumPy loads, the environment variables that OpenBLAS, MKL and OpenMP read as they
load; after (a notebook, a library that imported NumPy first, the Chooser), threadpoolctl (the
library made for this; ``pip install threadpoolctl``). The thread count changes no number: BLAS
splits a product's rows and columns between threads, never one sum (the main job's checkpoint
is the same to the bit at 1 and 2 threads), so the Chooser changes only the speed.
"""
import collections
import os
import statistics
import sys
import time

#: The environment variables the BLAS libraries read as they load.
VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: BLAS threads when neither a flag nor the environment says.
DEFAULT = 1
#: ``train``'s default: one thread or every core, whichever is faster now (``Chooser``).
AUTO = "auto"


def add_flag(parser, auto=False):
    """``--threads`` on a command's parser: N (an int >= 0) for every command, ``auto`` too where
    ``auto`` (train). Default None: ``policy`` says what that means."""
    parser.add_argument(
        "--threads", type=_auto_or_count if auto else int, metavar="auto|N" if auto else "N",
        help="BLAS threads for the matrix products: %s; N: that many; 0: the BLAS library's own "
        "default, every core; a count in OPENBLAS_NUM_THREADS or OMP_NUM_THREADS is kept when "
        "this is not given" % ("auto (the default): one or every core, whichever runs this run's "
                               "iterations faster, timed as it goes" if auto else
                               "default %d, fastest for these small products on a busy machine"
                               % DEFAULT))


def usable_cores():
    """The cores this process may run on (its affinity where the system says, else all)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def split(iterations):
    """'1 BLAS thread for 26 %, 2 BLAS threads for 74 %': each count's share of ``iterations``
    ({count: iterations run at it}, as ``Chooser.iterations`` or metrics.json's
    ``blas_threads``), counts that ran none left out."""
    done = max(sum(iterations.values()), 1)
    return ", ".join("%s BLAS thread%s for %.0f %%" % (n, "" if str(n) == "1" else "s",
                                                      100 * k / done)
                     for n, k in iterations.items() if k)


def _auto_or_count(text):
    return AUTO if text == AUTO else int(text)


def from_argv(argv):
    """The value after ``--threads`` in a command line, read before anything loads NumPy (whose
    BLAS reads its thread count as it loads): an int >= 0 or AUTO; None where there is none or
    it is neither (the command's parser then says what is wrong)."""
    for i, arg in enumerate(argv):
        value = arg[len("--threads="):] if arg.startswith("--threads=") else \
            argv[i + 1] if arg == "--threads" and i + 1 < len(argv) else None
        if value is not None:
            return AUTO if value == AUTO else int(value) if value.isdigit() else None
    return None


#: What ``use`` put in the environment (so that ``given`` can tell it from the user's count).
_SET = {}


def given():
    """The first of VARIABLES that the environment sets, other than by ``use``; else None."""
    return next((v for v in VARIABLES if os.environ.get(v) and os.environ[v] != _SET.get(v)),
                None)


def policy(flag):
    """What a command's ``--threads`` value means for ``Config.threads``: AUTO where the flag says
    so or says nothing and the environment holds no count; else the count in force (0: every
    core's, where nothing can read it)."""
    return AUTO if flag == AUTO or (flag is None and given() is None) else count() or 0


def use(n=None):
    """Use ``n`` BLAS threads in this process: n >= 1, 0 (the BLAS library's default), AUTO (one
    thread until a ``Chooser`` says otherwise) or None (a count already in the environment, else
    ``DEFAULT``). Returns what was chosen, as the one-line description ``describe`` gives.
    Raises ValueError for anything else."""
    if n == AUTO:
        n = 1
    elif n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise ValueError("--threads must be auto or an int >= 0 (0: the BLAS library's "
                         "default), got %r" % (n,))
    if n is None:
        if given():
            return describe("from %s" % given())
        n = DEFAULT
    if n == 0:
        return describe("the library's default")
    if "numpy" not in sys.modules:
        _SET.update({v: str(n) for v in VARIABLES})
        os.environ.update(_SET)
        return describe("--threads" if n != DEFAULT else "tinywgan's default")
    blas = blas_controller()
    if blas is None:
        return describe("NumPy was loaded first and threadpoolctl is not installed, so its BLAS "
                        "keeps its count: pip install threadpoolctl")
    blas.limit(limits=n)
    return describe("--threads" if n != DEFAULT else "tinywgan's default")


def blas_controller():
    """threadpoolctl's controller of the loaded BLAS libraries, or None without threadpoolctl."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController().select(user_api="blas")


class Chooser:
    r"""One BLAS thread or every core, whichever runs this job's iterations faster now.

    ``run(step)`` runs one iteration at the count in force and times it. ``seconds[n]`` is the
    mean time of an iteration at count n, over ``segment`` iterations: at the chosen count the
    last ``segment`` (kept up to date as the run goes), at the other count its last trial's.

    - A trial runs the other count for ``segment`` iterations (its first two, while threads
      wake or wind down, not counted) and takes it if its mean is smaller:
      choice = argmin_n seconds[n]. A trial is cut short, and lost, once it is ``slack``
      iterations' time behind the chosen count: sum(trial) > (len(trial) + slack)
      seconds[choice]. So a trial of every core beside busy processes (six times slower,
      measured) costs about ``slack`` iterations' time, however much slower it is.
    - The first trial comes after ``warmup`` + ``segment`` iterations, each next one ``gap``
      iterations after the last, the gap doubling (to at most ``longest``) each time the trial
      loses and back to ``gap`` when it wins.
    - While every core is chosen and its mean becomes slower than one thread's last, a busy
      process has arrived: back to one thread at once, and trials at ``gap`` again.

    Means over many iterations, not medians over a few: beside busy processes every core's
    threads are fast for a moment after they wake (the scheduler's credit for sleeping) and
    collapse when they run on. The iterations are the run's own (nothing is computed twice);
    what choosing costs is the time the slower count takes in trials (README, "BLAS threads").

    ``controller``: what sets the count, ``limit(limits=n)`` (``blas_controller()``).
    Attributes: counts ((1, C), C = the usable cores); choice; seconds; iterations ({n:
    iterations run at n}); trials (how many were run).
    """

    def __init__(self, controller, cores=None, segment=50, warmup=10, gap=250, longest=4000,
                 slack=5):
        if not (0 <= warmup and 2 < segment <= gap <= longest and slack > 0):
            raise ValueError("Chooser needs warmup >= 0, 2 < segment <= gap <= longest (a "
                             "trial compares whole segments) and slack > 0, got %r, %r, %r, "
                             "%r, %r" % (warmup, segment, gap, longest, slack))
        cores = usable_cores() if cores is None else cores
        self.controller, self.counts = controller, (1, cores)
        self.segment, self.warmup, self.first_gap, self.longest = segment, warmup, gap, longest
        self.slack = slack
        self.choice, self.current, self.trial = 1, None, None
        self.recent = collections.deque(maxlen=segment)     # the chosen count's last times
        self.seconds = {n: None for n in self.counts}
        self.iterations = {n: 0 for n in self.counts}
        self.gap, self.trials, self.done, self.next_trial = gap, 0, 0, warmup + segment

    def run(self, step):
        """``step()`` at the count this chooser wants now, timed. Returns what step returns."""
        choosing = self.counts[1] > 1
        if choosing and self.trial is None and self.done >= self.next_trial:
            self.trial = []                                 # the other count's turn
        other = self.counts[1] if self.choice == 1 else 1
        n = self.choice if self.trial is None else other
        if choosing and n != self.current:
            self.controller.limit(limits=n)
            self.current = n
        t0 = time.perf_counter()
        out = step()
        seconds = time.perf_counter() - t0
        self.done += 1
        self.iterations[n] += 1
        if choosing and self.done > self.warmup:
            self._record(n, seconds)
        return out

    def _record(self, n, seconds):
        if self.trial is not None:
            self.trial.append(seconds)
            lost = sum(self.trial) > (len(self.trial) + self.slack) * self.seconds[self.choice]
            if lost or len(self.trial) == self.segment:
                self._end_trial(n, statistics.fmean(self.trial[2:] or self.trial), lost)
            return
        self.recent.append(seconds)
        if len(self.recent) == self.segment:
            self.seconds[n] = statistics.fmean(self.recent)
            if n > 1 and self.seconds[1] is not None and self.seconds[n] > self.seconds[1]:
                self._take(1, self.first_gap)               # a busy process arrived

    def _end_trial(self, n, mean, lost):
        self.trial, self.trials = None, self.trials + 1
        self.seconds[n] = mean
        if not lost and mean < self.seconds[self.choice]:
            self._take(n, self.first_gap)
        else:
            self._take(self.choice, min(2 * self.gap, self.longest))

    def _take(self, n, gap):
        self.choice, self.gap, self.next_trial = n, gap, self.done + gap
        self.recent.clear()


def count():
    """The BLAS thread count NumPy will use: read by threadpoolctl where it is installed and NumPy
    loaded, else the environment's; None where neither says."""
    if "numpy" in sys.modules:
        try:
            from threadpoolctl import threadpool_info
            counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
            if counts:
                return counts[0]
        except ImportError:
            pass
    for v in VARIABLES:
        if os.environ.get(v, "").isdigit():
            return int(os.environ[v])
    return None


def describe(why):
    """'1 BLAS thread (tinywgan's default)': what ``use`` chose and why."""
    n = count()
    return "%s BLAS thread%s (%s)" % ("every core's" if n is None else n,
                                      "" if n == 1 else "s", why)
