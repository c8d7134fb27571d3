"""The README's pictures, made from the demos' own figures by one command.

    python docs/make_pictures.py                    # all of them: each demo at its README command
    python docs/make_pictures.py digits emd_by_hand # only these pictures
    python docs/make_pictures.py --figures DIR      # reduce DIR/name.png (figures you made) instead
    python docs/make_pictures.py --smoke --out DIR  # the whole pipeline at the smoke budget, into
                                                    # DIR (a dry run: docs/ is left alone)

For each picture: run the command under it in the README (``python demos/NN_name.py``, for the main
job ``python -m tinywgan train``, for the bug zoo ``python -m tinywgan bugzoo``, for the
mode-collapse table ``python -m tinywgan table``, most of the time) in a work folder,
``build/pictures/``, with neither budget variable set; take the figure it writes
(``figures/name.png``); reduce it the same way for all (``REDUCTION``); write ``docs/name.png``;
and record it in ``docs/pictures.json``: the picture's demo and command, the figure's size, the
reduction, the sha256 of the file written, and the run's wall and CPU seconds. The test suite
checks the README against that record, each committed picture against its sha256 and the
reduction's format, and each demo's smoke figure against the recorded size (a layout changed since
the pictures were made shows there).

Needs Pillow (it comes with matplotlib).
"""
import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time

DOCS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(DOCS)
MANIFEST = os.path.join(DOCS, "pictures.json")
MAX_WIDTH = 1400
REDUCTION = ("scaled to at most %d px wide (Lanczos), then a palette of at most 256 colours "
             "(median cut, no dithering), PNG" % MAX_WIDTH)


#: The commands that are not demos, and what they get for a smoke run (the main job and the table
#: have no smoke budget: a short run instead; the bug zoo takes seconds as it is).
COMMAND_SMOKE = {"main_job": " --iters 50", "bugzoo": "", "table": " --iters 5 --seeds 1"}


def pictures():
    """{picture name: (demo or None, command, the figure it writes relative to its folder)}: one
    per lesson in demos/, the main job's, the bug zoo's and the mode-collapse table's."""
    out = {"main_job": (None, "python -m tinywgan train", "runs/wgan-gp-8gaussians/figure.png"),
           "bugzoo": (None, "python -m tinywgan bugzoo", "figures/bugzoo.png"),
           "table": (None, "python -m tinywgan table", "figures/table.png")}
    for demo in sorted(os.listdir(os.path.join(ROOT, "demos"))):
        if demo.endswith(".py") and demo[:2].isdigit():
            name = demo[3:-3]                                  # 07_clipping_vs_penalty.py
            out[name] = ("demos/" + demo, "python demos/" + demo, "figures/%s.png" % name)
    return out


def reduced_size(width, height):
    """The size ``reduce`` gives a (width, height) figure."""
    if width <= MAX_WIDTH:
        return width, height
    return MAX_WIDTH, round(height * MAX_WIDTH / width)


def reduce(src, dst):
    """Write the README's copy of the figure ``src`` to ``dst`` (REDUCTION). Returns the figure's
    (width, height)."""
    from PIL import Image
    with Image.open(src) as im:
        size = im.size
        rgb = im.convert("RGB")
    if rgb.size != reduced_size(*size):
        rgb = rgb.resize(reduced_size(*size), Image.Resampling.LANCZOS)
    rgb.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) \
        .save(dst, optimize=True)
    return size


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run(command, work, smoke):
    """Run ``command`` in ``work`` (budget variables removed; TINYWGAN_SMOKE=1 if ``smoke``).
    Returns (wall seconds, CPU seconds of the command and its children)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TINYWGAN_SMOKE", "TINYWGAN_FULL")}
    env.update(MPLBACKEND="Agg", PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""))
    if smoke:
        env["TINYWGAN_SMOKE"] = "1"
    argv = command.split()
    argv[0] = sys.executable                                   # python -> this interpreter
    if argv[1].startswith("demos/"):
        argv[1] = os.path.join(ROOT, argv[1])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(argv, cwd=work, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.path.join(work, "output.txt"), "a") as f:
        f.write("$ %s\n%s\n" % (command, out.stdout))
    if out.returncode != 0:
        raise SystemExit("make_pictures: `%s` failed (exit %d):\n%s"
                         % (command, out.returncode, out.stdout[-3000:]))
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu


def main(argv=None):
    all_pictures = pictures()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", help="pictures to make (default: all): %s"
                   % ", ".join(all_pictures))
    p.add_argument("--figures", metavar="DIR", help="take DIR/name.png (DIR/main_job.png for "
                   "the main job) instead of running the commands")
    p.add_argument("--smoke", action="store_true", help="run at the smoke budget (needs --out)")
    p.add_argument("--out", metavar="DIR", default=DOCS, help="where the pictures and "
                   "pictures.json go (default: docs/)")
    p.add_argument("--work", metavar="DIR", default=os.path.join(ROOT, "build", "pictures"),
                   help="the folder the commands run in (default: build/pictures)")
    args = p.parse_args(argv)
    unknown = sorted(set(args.names) - set(all_pictures))
    if unknown:
        p.error("no such picture: %s (there are: %s)" % (", ".join(unknown),
                                                        ", ".join(all_pictures)))
    if args.smoke and os.path.abspath(args.out) == DOCS:
        p.error("--smoke pictures are not the README's: give --out DIR")
    names = args.names or list(all_pictures)
    manifest_path = os.path.join(args.out, "pictures.json")
    manifest = {}
    if os.path.isfile(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    os.makedirs(args.out, exist_ok=True)

    t_all = time.perf_counter()
    for name in names:
        demo, command, figure = all_pictures[name]
        if args.figures:
            src, wall, cpu = os.path.join(args.figures, name + ".png"), None, None
        else:
            work = os.path.join(args.work, name)
            shutil.rmtree(work, ignore_errors=True)
            os.makedirs(work)
            print("%-24s %s ..." % (name, command), end=" ", flush=True)
            wall, cpu = run(command + (COMMAND_SMOKE[name] if args.smoke and not demo else ""),
                            work, args.smoke)
            src = os.path.join(work, figure)
            print("%.0f s (CPU %.0f s)" % (wall, cpu), flush=True)
        dst = os.path.join(args.out, name + ".png")
        size = reduce(src, dst)
        manifest["docs/%s.png" % name] = dict(
            demo=demo, command=command + (" (TINYWGAN_SMOKE=1)" if args.smoke else ""),
            figure=figure, figure_size=list(size), reduction=REDUCTION, sha256=sha256(dst),
            seconds=None if wall is None else round(wall, 1),
            cpu_seconds=None if cpu is None else round(cpu, 1))
    with open(manifest_path, "w") as f:
        json.dump(dict(sorted(manifest.items())), f, indent=1)
        f.write("\n")
    print("wrote %d picture(s) and %s in %.0f s" % (len(names), manifest_path,
                                                    time.perf_counter() - t_all))


if __name__ == "__main__":
    main()
