r"""BLAS threads: how many threads NumPy's matrix products use, chosen once per process.

tinywgan's products are small (the default run multiplies 256 x 128 by 128 x 128): a second
thread saves little on an idle machine, and on a busy one (a laptop running a browser and an
editor is one) BLAS's threads wait for cores that other processes hold, each product waiting for
its slowest thread. Measured on a 2-core machine (the README's "BLAS threads" section has the
numbers and the command): the default ``train`` at one BLAS thread ran 2 to 4 times as fast as
at two beside two busy processes, and about a quarter slower on an idle machine. So every
command uses ``DEFAULT`` = 1 BLAS thread, the choice that never collapses, unless told otherwise:

    python -m tinywgan train --threads 2        # N threads; 0: the BLAS library's own default
    OPENBLAS_NUM_THREADS=4 python -m tinywgan train   # a count in the environment is kept

A library user sets it the same way (``tinywgan.threads.use(1)`` before the work), or with
threadpoolctl directly (``threadpoolctl.threadpool_limits(1, user_api="blas")``).

How: before NumPy loads, the environment variables that OpenBLAS, MKL and OpenMP read as they
load; after (a notebook, a library that imported NumPy first), threadpoolctl (the library made
for this; ``pip install threadpoolctl``). The thread count changes no number: BLAS splits a
product's rows and columns between threads, never one sum (the main job gives the same W1 to
the last digit at 1 and 2 threads).
"""
import os
import sys

#: The environment variables the BLAS libraries read as they load.
VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: BLAS threads when neither a flag nor the environment says.
DEFAULT = 1


def add_flag(parser):
    """``--threads N`` on a command's parser (default: the environment's count, else DEFAULT)."""
    parser.add_argument("--threads", type=int, metavar="N",
                        help="BLAS threads for the matrix products (default %d, which is fastest "
                        "for these small products and holds up on a busy machine; 0: the BLAS "
                        "library's own default, every core; a count in OPENBLAS_NUM_THREADS or "
                        "OMP_NUM_THREADS is kept when this is not given)" % DEFAULT)


def from_argv(argv):
    """The count after ``--threads`` in a command line, read before anything loads NumPy (whose
    BLAS reads its thread count as it loads); None where there is none or it is not an int >= 0
    (the command's parser then says what is wrong)."""
    for i, arg in enumerate(argv):
        value = arg[len("--threads="):] if arg.startswith("--threads=") else \
            argv[i + 1] if arg == "--threads" and i + 1 < len(argv) else None
        if value is not None:
            return int(value) if value.isdigit() else None
    return None


def use(n=None):
    """Use ``n`` BLAS threads in this process: n >= 1, 0 (the BLAS library's default) or None
    (a count already in the environment, else ``DEFAULT``). Returns what was chosen, as the
    one-line description ``describe`` gives. Raises ValueError for n < 0."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise ValueError("--threads must be an int >= 0 (0: the BLAS library's default), got %r"
                         % (n,))
    if n is None:
        given = [v for v in VARIABLES if os.environ.get(v)]
        if given:
            return describe("from %s" % given[0])
        n = DEFAULT
    if n == 0:
        return describe("the library's default")
    if "numpy" not in sys.modules:
        os.environ.update({v: str(n) for v in VARIABLES})
        return describe("--threads" if n != DEFAULT else "tinywgan's default")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return describe("NumPy was loaded first and threadpoolctl is not installed, so its BLAS "
                        "keeps its count: pip install threadpoolctl")
    threadpool_limits(limits=n, user_api="blas")
    return describe("--threads" if n != DEFAULT else "tinywgan's default")


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
