r"""How fast is one generator iteration, against what the hardware must do anyway?

``python -m tinywgan bench`` times the gan_toy iteration (n_critic critic steps and one generator
step, WGAN-GP, Adam) and, in the same process and interleaved with it, the bare matrix products
that iteration cannot avoid, counted by ``matmul_count``: products of shape
(B x W)(W x W). Their time is the *floor*; ``ratio = iteration / floor`` says how much the rest
(activations, masks, the optimizers, Python) costs on top. Each repeat times the floor and then
the iteration, back to back, so that a machine busy with other work slows both sides of a pair
alike; the result is the repeat whose ratio is the median (the lower middle one for an even
count), its iteration time, its floor and their quotient, so that ratio = ms_per_gen_iter /
floor_ms, with the smallest and largest per-repeat ratios beside it. (Separate medians of the
iterations, the floors and the ratios come from different repeats and need not divide: on a busy
machine they once read 142.1 ms against a floor of 645.4 ms, ratio 1.211.)

A measurement that cannot be trusted says so on its line, and ``--json`` carries the same
flags (``unreliable``: a list of reasons, empty when none): a ratio below 1 (the iteration
cannot be faster than the products it contains: the machine's speed changed between the two
halves of a pair), repeats whose ratios spread wider than ``SPREAD_MAX`` (largest over smallest),
and other work on the machine: the process had its cores less than ``SHARE_MIN`` of the timed
wall time (its CPU time over wall time and BLAS threads, ``cpu_share``, read on the CPU only),
or a one-minute load average of at least the core count before the first repeat (the one after
the last is printed beside it; a load below that may be this benchmark's own previous run).

Nothing here asserts a speed: the numbers are reported, never tested.
"""
import math
import os
import resource
import sys
import time

from .. import backend, threads
from . import preflight
from ..core import steps
from ..core.mlp import get_activation


#: Repeats whose ratios spread wider than this (largest / smallest) make the result unreliable.
SPREAD_MAX = 1.3
#: A process that ran less than this share of the timed wall time was waiting for other work.
SHARE_MIN = 0.9


def load_average():
    """The one-minute load average, or None where the system does not report one."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def unreliable(ratio, ratio_min, ratio_max, load, cpus, cpu_share=None):
    """The reasons a result cannot be trusted (the module docstring): a list of short sentences."""
    why = []
    if ratio < 1:
        why.append("the iteration timed faster than its own floor (ratio %.3f < 1): the "
                   "machine's speed changed between them" % ratio)
    if ratio_max > SPREAD_MAX * ratio_min:
        why.append("the repeats disagree (ratios %.3f to %.3f, wider than %.2fx)"
                   % (ratio_min, ratio_max, SPREAD_MAX))
    if cpu_share is not None and cpu_share < SHARE_MIN:
        why.append("the machine was busy (this process ran %.0f %% of the time it was timed)"
                   % (100 * cpu_share))
    if load is not None and cpus and load >= cpus:
        why.append("the machine was busy (load %.2f on %d cores before it started)" % (load, cpus))
    return why


def matmul_count(depth, n_critic, method="wgan-gp", activation="relu"):
    r"""The (B x W)(W x W) products one generator iteration cannot avoid (without R1 and R2:
    the bench trains without them).

    Each network has ``depth - 1`` hidden-to-hidden (W x W) layers; per such layer:

    - critic step: generator forward 1, critic forward on real and fake 2, the loss's backward
      (dW and dx) on real and fake 4: 7 for every method (clipping adds no product, nor does
      spectral norm: its power iteration multiplies W by vectors). A gradient penalty (wgan-gp,
      and wgan-lp, whose one-sided penalty costs the same) adds the forward on the
      interpolates 1, the input-gradient pass 1 and its reverse (W_bar and gA_bar) 2: 11; with
      a smooth activation its second-order path (``tinywgan.core.mlp``, step 4: dW and dx
      once more) adds 2: 13. With ReLU that path is empty;
    - generator step: generator forward 1, critic forward 1, critic backward to the input 1,
      generator backward (dW and dx) 2: 5.

    The fused steps (``tinywgan.fast``, ReLU-family networks) do as many in taller products.
    gan_toy (depth 3, n_critic 5, wgan-gp or wgan-lp, ReLU): 2 * (5 * 11 + 5) = 120.
    """
    per_critic = 7
    if method in steps.INTERPOLATING:
        per_critic += 4 + (2 if get_activation(activation).second_order else 0)
    return (depth - 1) * (n_critic * per_critic + 5)


def _sync(xp):
    """Wait for the device (a no-op on the host)."""
    if backend.device_name(xp) == "gpu":
        xp.cuda.Device().synchronize()


def _time_floor(xp, dtype, batch, width, n):
    """Seconds for ``n`` products (batch x width)(width x width) into a preallocated output."""
    rng = backend.rng(xp, 0, "bench-floor")
    A = rng.standard_normal((batch, width), dtype=dtype)                      # (B, W)
    W = rng.standard_normal((width, width), dtype=dtype) / math.sqrt(width)   # (W, W)
    out = xp.empty((batch, width), dtype=dtype)
    _sync(xp)
    t0 = time.perf_counter()
    for _ in range(n):
        xp.matmul(A, W, out=out)
    _sync(xp)
    return time.perf_counter() - t0


def peak_memory():
    """{'peak_mem_mb': the process's peak resident memory, and on a GPU 'gpu_pool_mb', the bytes
    CuPy's memory pool holds (it keeps what it allocated, so this is its peak)}."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    mb = kb / 1024.0 if sys.platform != "darwin" else kb / 2.0 ** 20   # macOS reports bytes
    out = {"peak_mem_mb": round(mb, 1)}
    try:
        import cupy
        out["gpu_pool_mb"] = round(cupy.get_default_memory_pool().total_bytes() / 2.0 ** 20, 1)
    except Exception:
        pass
    return out


def run(width=512, depth=3, batch=256, n_critic=5, dtype="float32", device="cpu", repeats=5,
        iters_per_repeat=3, warmup=2, fast=True, method="wgan-gp", activation="relu",
        beside=None):
    """Time the gan_toy iteration and its matrix-product floor. Returns a dict (JSON-ready):

    ms_per_gen_iter, floor_ms and ratio (their quotient) of the median repeat (the module
    docstring), ratio_min and ratio_max over the ``repeats``, matmuls (the floor's product
    count), peak_mem_mb, the configuration and the device.

    ``beside``: ``(name, iterate)``, another implementation of the same iteration, where
    ``iterate(k)`` runs k iterations and returns their seconds (``benchmarks/torch_gan_toy.py``
    passes PyTorch's). It is warmed up with tinywgan's and timed in every repeat right after
    it, so the machine's changes of speed fall on both; the result's ``beside`` holds its name
    and, from the repeat whose ``vs`` is the median, its ``ms``, tinywgan's (``tinywgan_ms``)
    and ``vs`` = their quotient, with ``vs_min`` and ``vs_max`` over the repeats. Repeats that
    disagree wider than SPREAD_MAX flag it too.
    """
    from .config import make_config
    from .training import TrainingJob
    if depth < 2:
        raise ValueError("bench needs depth >= 2: the floor counts the (W x W) products, and a "
                         "network with one hidden layer has none")
    for name, v, least in (("repeats", repeats, 1), ("iters_per_repeat", iters_per_repeat, 1),
                           ("warmup", warmup, 0)):
        if v < least:
            raise ValueError("--%s must be >= %d, got %r" % (name.replace("_", "-"), least, v))
    cfg = make_config("gan_toy", width=width, depth=depth, batch=batch, n_critic=n_critic,
                      dtype=dtype, device=device, fast=fast, method=method,
                      activation=activation)
    if device == "cpu":     # the networks and a step, refused before anything is allocated
        preflight.check_memory(preflight.estimate(cfg)[:2])
    trainer = TrainingJob(cfg)
    xp, dt = trainer.xp, trainer.D.dtype
    n = matmul_count(depth, n_critic, method, activation)

    def iterate(k):
        _sync(xp)
        t0 = time.perf_counter()
        for _ in range(k):
            out = trainer.step()
        float(out["critic_loss"])                  # waits for the device; checks nothing
        _sync(xp)
        return time.perf_counter() - t0

    load_before = load_average()
    if warmup:
        iterate(warmup)
        if beside:
            beside[1](warmup)
    _time_floor(xp, dt, batch, width, n)           # warm the floor's buffers and BLAS too
    iters, floors, others = [], [], []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(repeats):
        floors.append(_time_floor(xp, dt, batch, width, n * iters_per_repeat)
                      / iters_per_repeat)
        iters.append(iterate(iters_per_repeat) / iters_per_repeat)
        if beside:
            others.append(beside[1](iters_per_repeat) / iters_per_repeat)
    cpus, blas = os.cpu_count(), threads.count()
    share = None                          # CPU seconds per wall second per thread it could use
    if device == "cpu":
        share = (time.process_time() - cpu0) / max(time.perf_counter() - wall0, 1e-9) \
            / min(blas or cpus or 1, cpus or 1)
    ratios = [a / b for a, b in zip(iters, floors)]
    k = sorted(range(repeats), key=ratios.__getitem__)[(repeats - 1) // 2]   # the median pair
    why = unreliable(ratios[k], min(ratios), max(ratios), load_before, cpus, share)
    other = None
    if beside:
        name = beside[0]
        vs = [a / b for a, b in zip(iters, others)]
        j = sorted(range(repeats), key=vs.__getitem__)[(repeats - 1) // 2]
        if max(vs) > SPREAD_MAX * min(vs):
            why.append("the repeats disagree on %s (tinywgan / %s %.3f to %.3f, wider than "
                       "%.2fx)" % (name, name, min(vs), max(vs), SPREAD_MAX))
        other = {"name": name, "ms": float("%.5g" % (1e3 * others[j])),
                 "tinywgan_ms": float("%.5g" % (1e3 * iters[j])),        # the same repeat's
                 "vs": round(vs[j], 4), "vs_min": round(min(vs), 4), "vs_max": round(max(vs), 4)}
    result = {
        "unreliable": why,
        "load_before": load_before, "load_after": load_average(), "cpus": cpus,
        "cpu_share": None if share is None else round(share, 3),
        "blas_threads": blas,
        "ms_per_gen_iter": float("%.5g" % (1e3 * iters[k])),    # 5 significant digits, so
        "floor_ms": float("%.5g" % (1e3 * floors[k])),          # that their quotient is ratio
        "ratio": round(ratios[k], 4),                       # = iters[k] / floors[k]
        "ratio_min": round(min(ratios), 4),
        "ratio_max": round(max(ratios), 4),
        "matmuls": n,
        "gflop_per_iter": round(2.0 * n * batch * width * width / 1e9, 3),
        "fast": bool(fast),
        "fast_path_taken": trainer.step_fns is not steps,
        "config": dict(width=width, depth=depth, batch=batch, n_critic=n_critic, dtype=dtype,
                       method=method, activation=activation, repeats=repeats,
                       iters_per_repeat=iters_per_repeat),
        "device": device,
        "beside": other,
    }
    result.update(peak_memory())
    return result


def format_result(r):
    """Three lines for a person (four when the result is unreliable, its ratio then not given
    as a result)."""
    c = r["config"]
    load = "load %s -> %s on %d cores, %s BLAS thread(s)%s" % (
        r["load_before"], r["load_after"], r["cpus"], r["blas_threads"] or "every core's",
        "" if r["cpu_share"] is None else ", ran %.0f %% of the time" % (100 * r["cpu_share"]))
    ratio = ("ratio %.3f (repeats: %.3f to %.3f)" if not r["unreliable"] else
             "UNRELIABLE, not a result: ratio %.3f (repeats: %.3f to %.3f)")
    lines = ["gan_toy iteration (%s, width %d, depth %d, batch %d, n_critic %d, %s, %s path): "
             "%.1f ms" % (r["device"], c["width"], c["depth"], c["batch"], c["n_critic"],
                          c["dtype"], "fast" if r["fast_path_taken"] else "plain",
                          r["ms_per_gen_iter"]),
             "floor: %d products (%dx%d)(%dx%d): %.1f ms   " % (
                 r["matmuls"], c["batch"], c["width"], c["width"], c["width"], r["floor_ms"])
             + ratio % (r["ratio"], r["ratio_min"], r["ratio_max"]),
             "%s   peak mem %.0f MB" % (load, r["peak_mem_mb"])]
    if r["beside"]:
        o = r["beside"]
        lines.insert(2, "beside it, %s: %.1f ms against tinywgan's %.1f ms in its median "
                     "repeat: tinywgan / %s %.3f (repeats: %.3f to %.3f)"
                     % (o["name"], o["ms"], o["tinywgan_ms"], o["name"], o["vs"], o["vs_min"],
                        o["vs_max"]))
    lines += ["unreliable: " + why for why in r["unreliable"]]
    return "\n".join(lines)
