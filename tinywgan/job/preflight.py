"""What a run needs, checked before it starts: the optional libraries, and the memory.

Training for an hour and then failing on ``import matplotlib``, or asking NumPy for 700 TB,
ends in a traceback and wastes the hour. ``require`` names every missing library and the
``pip install`` that adds it; ``check_memory`` adds up what a configuration allocates and
refuses one that cannot fit, before anything is allocated.

``job.training.build_parts`` checks the networks (``estimate(cfg)[:1]``), so that nothing builds
one that cannot fit; the main job checks a step and the evaluations too, before training, and
``sample`` its rows, so that a run trained on a larger machine can still be sampled here.

The memory estimate, in numbers of the run's dtype (s bytes each), for G and D with P_G, P_D
parameters and hidden width w, depth h:

    networks     (P_G + P_D) * 5 s       params, grads, two optimizer moments, a scratch vector
                                         (+ 2 P_D s for spectral norm's W / sigma and its grads)
    a step       B * (w * h + d) * 48 s  the forward caches of real, fake and interpolated rows,
                                         the input-gradient pass and its reverse, the backward
                                         passes (about 48 (B, w) arrays per layer, generously)
    evaluation   n^2 * 16 bytes          the (n, n) float64 distances of the exact W1 and the
                 + n * (w * h) * 2 s     assignment solver's copy of them; G's forward on n rows

with B the batch and n the larger of curve_n and eval_n (the digits' evaluations use at most
1797 // 4 = 449 images). It is an upper estimate for a refusal, not a measurement
(tests/job/test_preflight.py measures it against tracemalloc's peak). On a GPU the networks and a
step live in the GPU's memory, which CuPy checks itself (its OutOfMemoryError is a
MemoryError, which the command line reports in one line).
"""
import importlib

from ..measure import data
from ..validate import memory_bytes, size_text as _size

#: Optional libraries: import name -> (what needs it, its pip name, the extra of setup.py that
#: installs it).
EXTRAS = {
    "scipy": ("SciPy (the exact W1 of every evaluation)", "scipy", "metrics"),
    "matplotlib": ("matplotlib (the figure)", "matplotlib", "plot"),
    "sklearn": ("scikit-learn (the digits)", "scikit-learn", "digits"),
    "cupy": ("CuPy (the GPU)", "cupy-cudaXXx (your CUDA's)", "gpu"),
}


def needed(cfg, figure=True):
    """The import names of the optional libraries that ``cfg``'s main job needs."""
    return ["scipy"] + (["matplotlib"] if figure else []) + \
        (["sklearn"] if cfg.dataset == "digits" else []) + (["cupy"] if cfg.device == "gpu" else [])


def require(names, hints=None):
    """Import each of ``names`` (keys of EXTRAS); raise one ImportError naming every one that is
    missing and the ``pip install`` that adds them all (``hints``: {name: what else the user
    can do}). A CuPy that sees no GPU raises RuntimeError."""
    missing = []
    for name in names:
        try:
            importlib.import_module({"scipy": "scipy.optimize"}.get(name, name))
        except ImportError:
            missing.append(name)
    if missing:
        raise ImportError("this needs %s, not installed: pip install %s (in a clone of "
                          "tinywgan: pip install '.[%s]')%s"
                          % (" and ".join(EXTRAS[m][0] for m in missing),
                             " ".join(EXTRAS[m][1] for m in missing),
                             ",".join(EXTRAS[m][2] for m in missing),
                             "".join((hints or {}).get(m, "") for m in missing)))
    if "cupy" in names:
        import cupy
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:              # CUDA's own errors: no driver, no device
            count, why = 0, " (%s)" % e
        else:
            why = ""
        if count == 0:
            raise RuntimeError("CuPy is installed but sees no CUDA GPU%s; use --device cpu" % why)


def estimate(cfg, sample_rows=0):
    """The memory ``cfg`` needs, in bytes (the module docstring's sums), as a list of
    (what, bytes): first the networks, which stay, then the parts that come one at a time (a
    step, an evaluation; or, with ``sample_rows``, a ``sample`` call's rows)."""
    s = 4 if cfg.dtype == "float32" else 8
    d = data.DATASETS[cfg.dataset]
    hidden = [cfg.width] * cfg.depth

    def params(widths):
        return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    P_G, P_D = params([cfg.latent] + hidden + [d]), params([d] + hidden + [1])
    parts = [("the networks (width %d, depth %d)" % (cfg.width, cfg.depth),
              (P_G + P_D) * 5 * s + (2 * P_D * s if cfg.method == "wgan-sn" else 0))]
    if sample_rows:
        return parts + [("%d samples" % sample_rows,
                         sample_rows * (cfg.width * cfg.depth + d) * 2 * s)]
    n = max(cfg.curve_n, cfg.eval_n)
    if cfg.dataset == "digits":
        n = min(n, data.DIGITS_N // 4)
    return parts + [("one step (batch %d)" % cfg.batch,
                     cfg.batch * (cfg.width * cfg.depth + d) * 48 * s),
                    ("an evaluation (%d points)" % n,
                     n * n * 16 + n * cfg.width * cfg.depth * 2 * s)]


def total(parts):
    """What ``parts`` (from ``estimate``) hold at most at once: the networks and the largest
    of the others."""
    return parts[0][1] + max([b for _, b in parts[1:]], default=0)


def check_memory(parts):
    """Raise ValueError if ``total(parts)`` exceeds the machine's memory, naming the parts,
    largest first, and their sizes."""
    have = memory_bytes()
    if have is not None and total(parts) > have:
        largest_first = sorted(parts, key=lambda part: -part[1])
        raise ValueError("this needs about %s of memory but the machine has %s: %s; make the "
                         "largest smaller" % (_size(total(parts)), _size(have), ", ".join(
                             "%s %s" % (k, _size(b)) for k, b in largest_first)))
