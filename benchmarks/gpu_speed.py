"""How fast is a gan_toy iteration on each device, against the matrix products it needs?

Runs ``tinywgan.job.bench`` at the gan_toy size and at a GPU-sized configuration on every device
present (cpu always, gpu when CuPy sees a GPU) and prints one table. The floor is the time of
the bare (B x W)(W x W) products one iteration cannot avoid (``bench.matmul_count``);
``ratio`` = iteration / floor, 1.0 being "nothing but the products". Each repeat times the floor
and the iteration back to back; a row is the repeat with the median ratio (``bench.run``), so
its ratio is its ms over its floor, and beside it the range of the repeats' ratios says how much
they disagreed. A busy machine shows there, and in the load averages printed before and after:
BLAS's threads wait for cores that other processes hold, and on a 2-core machine under a load of
5, 120 products (256 x 64)(64 x 64) took 1535 ms with two threads and 2 ms with one
(``--threads 1``).

    python benchmarks/gpu_speed.py                  # a few minutes on a CPU
    python benchmarks/gpu_speed.py --help           # every setting is a flag
    python benchmarks/gpu_speed.py --threads 1      # one BLAS thread: steadier on a busy CPU
    TINYWGAN_SMOKE=1 python benchmarks/gpu_speed.py # seconds: tiny sizes, one repeat
"""
import os
from dataclasses import dataclass, field
from typing import List, Tuple

from tinywgan import lesson, threads as blas


@dataclass
class Config:
    # (name, width, batch): the reference toy size, and one big enough to keep a GPU busy
    sizes: List[Tuple[str, int, int]] = field(default_factory=lambda: [
        ("gan_toy", 512, 256),
        ("gpu-sized", 1024, 4096),
    ])
    depth: int = 3               # hidden layers of both networks
    n_critic: int = 5            # critic steps per generator step
    dtype: str = "float32"       # float32 or float64
    repeats: int = 3             # timed repeats; the one with the median ratio is reported
    iters_per_repeat: int = 2    # generator iterations per repeat
    warmup: int = 1              # untimed iterations first
    cpu_big_work: float = 20.0   # GFLOP per iteration above which the CPU times 1 iteration once
    threads: int = 0             # BLAS threads (0: NumPy's default, every core)


# tiny sizes and one repeat for the smoke budget; the BLAS threads as --threads says (a
# benchmark of the machine: by default every core), set before NumPy loads
cfg = lesson.setup(Config, smoke=dict(sizes=[("gan_toy/16", 32, 16), ("gpu-sized/16", 64, 256)],
                                      repeats=1, iters_per_repeat=1, warmup=0), threads=None)
if cfg.threads:
    blas.use(cfg.threads)
from tinywgan.job import bench  # noqa: E402  (after the thread count: it loads NumPy)


def gpu_present():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


# 1. which devices, and how busy the machine is
load = os.getloadavg()[0]
print("load average %.2f over the last minute, %d CPUs" % (load, os.cpu_count()))
if load >= os.cpu_count():
    print("(a busy machine: other processes take the cores that BLAS's threads wait for, and a "
          "product can take hundreds of times longer than on a quiet one; the repeats' ratios show "
          "it. --threads 1 is steadier)")
devices = ["cpu"] + (["gpu"] if gpu_present() else [])
print("devices: %s%s" % (", ".join(devices), "" if "gpu" in devices else " (no CuPy/GPU)"))

# 2. time every (device, size), fast path and plain path
rows = []
for device in devices:
    for name, width, batch in cfg.sizes:
        gflop = 2e-9 * bench.matmul_count(cfg.depth, cfg.n_critic) * batch * width * width
        big = device == "cpu" and gflop > cfg.cpu_big_work     # ~1 TFLOP: seconds per iteration
        for fast in (True, False):
            r = bench.run(width=width, depth=cfg.depth, batch=batch, n_critic=cfg.n_critic,
                          dtype=cfg.dtype, device=device, repeats=1 if big else cfg.repeats,
                          iters_per_repeat=1 if big else cfg.iters_per_repeat,
                          warmup=0 if big else cfg.warmup, fast=fast)
            rows.append((device, name, width, batch, "fast" if fast else "plain", r))
            print(".", end="", flush=True)
print()

# 3. the table
head = "%-6s %-14s %6s %6s %-6s %12s %10s %7s %15s %9s %8s" % (
    "device", "size", "width", "batch", "path", "ms/gen-iter", "floor ms", "ratio",
    "repeats' ratios", "host MB", "gpu MB")
print(head)
print("-" * len(head))
for device, name, width, batch, path, r in rows:
    print("%-6s %-14s %6d %6d %-6s %12.4g %10.4g %7.3f %15s %9.0f %8s" % (
        device, name, width, batch, path, r["ms_per_gen_iter"], r["floor_ms"], r["ratio"],
        "%.3f-%.3f" % (r["ratio_min"], r["ratio_max"]), r["peak_mem_mb"],
        "%.0f" % r["gpu_pool_mb"] if "gpu_pool_mb" in r else "-"))
print("(floor: %d products (B x W)(W x W) per iteration; ratio = ms / floor of the repeat with "
      "the median ratio, 1.0 = nothing but the products)"
      % bench.matmul_count(cfg.depth, cfg.n_critic))
print("load average %.2f over the last minute" % os.getloadavg()[0])
