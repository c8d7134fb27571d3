"""The one GPU check: everything a machine with a GPU and CuPy should measure, in one command and
under 10 minutes, written to one report file.

    python benchmarks/gpu_check.py                         # report: gpu_report.md
    python benchmarks/gpu_check.py --report /tmp/r.md      # elsewhere
    python benchmarks/gpu_check.py --smoke                 # seconds: tiny sizes (the suite's test)

It runs, each in a child process with its own time limit, and records what each printed:

1. the GPU tests (``tests/test_gpu.py``) and the device-path tests (``tests/test_device.py``);
2. ``bench --json`` at width 1024, batch 4096 on the GPU and on the CPU (every core), and their
   ratio (the target: CuPy at least 10 times NumPy);
3. the default main job, ``train --device gpu``: its training seconds, W1 against its floor,
   modes and high quality (``metrics.json``).

Without a GPU (no CuPy, or CuPy without a device) the GPU's parts run on the strict test device
(``tinywgan.strict``: NumPy arrays that behave like a device's), and the report says so on every
line: that exercises the device code path and this script, and measures no GPU.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gpu_name():
    """The GPU's name, or None where CuPy or a device is missing."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
        return "%s (CuPy %s)" % (name.decode() if isinstance(name, bytes) else name,
                                 cupy.__version__)
    except Exception:
        return None


def run(args, limit, cwd=ROOT):
    """Run ``python args`` with a time limit; returns (status, seconds, the output's tail).
    status: the exit status, or 'timed out after N s'."""
    t0 = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                             timeout=limit)
        status, text = out.returncode, out.stdout + out.stderr
    except subprocess.TimeoutExpired as e:
        status = "timed out after %d s" % limit
        text = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) \
            else (e.stdout or "")
    return status, time.perf_counter() - t0, text.strip()[-1500:]


def bench(device, width, batch, repeats, limit):
    """One ``bench --json`` run: (its dict or None, the run's status and tail)."""
    status, _, text = run(["-m", "tinywgan", "bench", "--json", "--device", device,
                           "--width", str(width), "--batch", str(batch), "--threads", "0",
                           "--repeats", str(repeats), "--iters-per-repeat", "1",
                           "--warmup", "1"], limit)
    lines = [l for l in text.splitlines() if l.startswith("{")]
    return (json.loads(lines[-1]) if status == 0 and lines else None), status, text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", default="gpu_report.md", help="the report file to write")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: seconds, not minutes")
    args = parser.parse_args(argv)
    name = gpu_name()
    device = "gpu" if name else "strict"
    width, batch, iters = (64, 256, 20) if args.smoke else (1024, 4096, None)
    where = name or "NO GPU here: the strict test device stands in, and no GPU is measured"
    lines = ["# tinywgan GPU check", "",
             "- date: %s" % datetime.datetime.now(datetime.timezone.utc).isoformat(" ", "seconds"),
             "- device: %s" % where,
             "- host: %s, %d CPUs, Python %s, load average %.2f" % (
                 platform.platform(), os.cpu_count(), platform.python_version(),
                 os.getloadavg()[0]),
             "- budget: %s" % ("smoke (tiny sizes)" if args.smoke else "full"), ""]
    failed = []

    # 1. the tests that need a GPU, and the device-path tests
    tests = ["tests/test_gpu.py", "tests/test_device.py"]
    status, seconds, text = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                                120 if args.smoke else 240)
    summary = text.splitlines()[-1] if text else "(no output)"
    lines += ["## 1. Tests: %s" % " ".join(tests), "",
              "%s (exit status %s, %.0f s)" % (summary, status, seconds), ""]
    if status != 0:
        failed.append("tests")

    # 2. bench: the device against NumPy on every CPU core
    results = {}
    for dev, repeats in ((device, 1 if args.smoke else 3), ("cpu", 1)):
        results[dev], status, text = bench(dev, width, batch, repeats, 60 if args.smoke else 150)
        if results[dev] is None:
            failed.append("bench %s" % dev)
            lines += ["bench on %s failed (exit status %s):" % (dev, status), "",
                      "    " + text.replace("\n", "\n    "), ""]
    lines += ["## 2. bench --width %d --batch %d (ms per generator iteration)" % (width, batch), "",
              "| device | ms/iter | floor ms | ratio to floor |", "|---|---|---|---|"]
    for dev, r in results.items():
        if r is not None:
            lines.append("| %s | %.1f | %.1f | %.2f |" % (dev, r["ms_per_gen_iter"],
                                                         r["floor_ms"], r["ratio"]))
    if all(results.values()):
        speedup = results["cpu"]["ms_per_gen_iter"] / results[device]["ms_per_gen_iter"]
        lines += ["", "%s against NumPy on %d CPU cores: %.1f times faster (target: 10)"
                  % (device, os.cpu_count(), speedup)]
    lines.append("")

    # 3. the default main job on the device
    with tempfile.TemporaryDirectory() as out:
        flags = ["--iters", str(iters), "--eval-every", "0", "--eval-n", "200"] if iters else []
        status, seconds, text = run(["-m", "tinywgan", "train", "--device", device, "--out", out,
                                     *flags], 120 if args.smoke else 300)
        lines += ["## 3. python -m tinywgan train --device %s %s" % (device, " ".join(flags)), ""]
        try:
            with open(os.path.join(out, "metrics.json")) as f:
                m = json.load(f)
            lines.append("%d iterations in %.1f s of training (%.1f s in all); W1 %.4f against a "
                         "floor of %.4f; modes %d/%d; high quality %.3f"
                         % (m["iters"], m["seconds"], seconds, m["w1"], m["w1_floor"],
                            m["modes"], m["modes_total"], m["high_quality"]))
        except (OSError, ValueError, KeyError):
            failed.append("train")
            lines += ["train failed (exit status %s):" % (status,), "",
                      "    " + text.replace("\n", "\n    ")]
    lines += ["", "FAILED: %s" % ", ".join(failed) if failed else "every part ran", ""]

    report = "\n".join(lines)
    with open(args.report, "w") as f:
        f.write(report)
    print(report)
    print("wrote %s" % args.report)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
