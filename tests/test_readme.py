"""The README's promises: its test command is CI's, its code runs as printed, each picture it
shows is what docs/make_pictures.py wrote from the command under it, and the main job's numbers
are what docs/make_numbers.py recorded."""
import importlib.util
import json
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
MANIFEST = json.loads((ROOT / "docs" / "pictures.json").read_text())
NUMBERS = json.loads((ROOT / "docs" / "numbers.json").read_text())


def docs_script(name):
    """docs/<name>.py as a module (a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_pictures():
    return docs_script("make_pictures")


def check_reduction(fresh, picture, tmp_path):
    """The figure ``fresh`` (just made by the smoke budget) has the size recorded for
    ``picture`` (else the layout changed since the picture was made: run make_pictures.py),
    and the script's reduction gives it the committed file's size and mode."""
    from PIL import Image
    record, mp = MANIFEST[picture], make_pictures()
    size = mp.reduce(fresh, tmp_path / "reduced.png")
    assert list(size) == record["figure_size"], \
        "%s: the figure is %s now, %s when %s was made: python docs/make_pictures.py %s" % (
            fresh, size, record["figure_size"], picture, pathlib.Path(picture).stem)
    with Image.open(tmp_path / "reduced.png") as new, Image.open(ROOT / picture) as old:
        assert (new.format, new.mode, new.size) == (old.format, old.mode, old.size)


def test_ci_runs_the_readme_test_command():
    ci = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()
          if ln.strip() and not ln.lstrip().startswith("#")]
    command = ci[-1]
    assert command.startswith("pip install") and "pytest" in command
    assert "    " + command in README


def test_readme_python_example_runs():
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "'ok': True" in out.stdout


def test_every_demo_has_its_section_and_command():
    """The tour has a section numbered as each demo's file, with its command."""
    demos = sorted(p.name for p in (ROOT / "demos").glob("*.py"))
    missing = [d for d in demos if "python demos/%s" % d not in README]
    missing += [d for d in demos if not re.search(r"^### %d\. " % int(d[:2]), README, re.M)]
    assert not missing, "demos without their section or command in the README: %s" % missing


def test_every_picture_is_what_make_pictures_wrote():
    """Each README picture is in docs/pictures.json with its demo and the README's command,
    unchanged since the script wrote it (sha256), in the reduction's format; and every lesson
    has one."""
    from PIL import Image
    mp = make_pictures()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert sorted(images) == sorted(MANIFEST), "README pictures vs docs/pictures.json"
    assert sorted(MANIFEST) == sorted("docs/%s.png" % n for n in mp.pictures())
    for picture, record in MANIFEST.items():
        demo, command, figure = mp.pictures()[pathlib.Path(picture).stem]
        assert (record["demo"], record["command"], record["figure"]) == (demo, command, figure)
        assert record["reduction"] == mp.REDUCTION
        assert mp.sha256(ROOT / picture) == record["sha256"], \
            "%s changed since docs/make_pictures.py wrote it" % picture
        with Image.open(ROOT / picture) as im:
            assert (im.format, im.mode) == ("PNG", "P") and len(im.getcolors(256)) <= 256
            assert im.size == mp.reduced_size(*record["figure_size"])
        section = re.split(r"\n##+ ", README.split("](%s)" % picture)[1])[0]
        assert re.search(r"^    %s( +#.*)?$" % re.escape(command), section, re.M), \
            "%s: the README's command under it (a line of its own) is not %r" % (picture, command)


def test_main_job_figure_keeps_the_pictures_layout(tmp_path):
    """The main job's figure, from a few iterations, against docs/main_job.png."""
    pytest.importorskip("matplotlib")
    from tinywgan.measure import plot
    from tinywgan.job import TrainingJob, make_config
    trainer = TrainingJob(make_config(iters=3, log_every=1))
    trainer.train()
    plot.run_figure(trainer, str(tmp_path / "figure.png"))
    check_reduction(tmp_path / "figure.png", "docs/main_job.png", tmp_path)



def test_main_job_table_is_the_record():
    """Every row of the README's main-job table is its run's record in docs/numbers.json, and
    the other seeds' numbers under it are theirs (a change that moves a number fails here until
    python docs/make_numbers.py and the README are made again)."""
    mn = docs_script("make_numbers")
    commands = mn.readme_commands(README)
    assert mn.TRAIN in commands and len(commands) >= 6
    missing = [c for c in commands if c not in NUMBERS["runs"]]
    assert not missing, "not in docs/numbers.json: python docs/make_numbers.py %s" % " ".join(
        '"%s"' % c for c in missing)
    for command in commands:
        row = mn.table_row(command, NUMBERS["runs"][command])
        assert row in README, "the README's row for `%s` is not the record's:\n%s" % (command, row)
    seeds = [NUMBERS["runs"][c] for c in mn.EXTRA]
    sentence = "reach %s modes at %.3f and %.3f high quality" % (
        "/".join(str(seeds[0][k]) for k in ("modes", "modes_total")),
        seeds[0]["high_quality"], seeds[1]["high_quality"])
    assert all(r["modes"] == seeds[0]["modes"] for r in seeds)
    assert sentence in " ".join(README.split()), sentence            # across line breaks


def test_record_machine_still_gives_the_record(tmp_path):
    """The record's short run, repeated here, gives its numbers to the last digit: the
    record's commands still make its numbers (on the record's NumPy and BLAS kernel only: another
    kernel sums the products in another order, and training amplifies the rounding)."""
    mn = docs_script("make_numbers")
    here, there = mn.machine(), NUMBERS["machine"]
    if (here["numpy"], here["blas"]) != (there["numpy"], there["blas"]):
        pytest.skip("docs/numbers.json was made with NumPy %s, %s; this is NumPy %s, %s"
                    % (there["numpy"], there["blas"], here["numpy"], here["blas"]))
    got, want = mn.run(mn.CHECK, str(tmp_path / "work")), NUMBERS["runs"][mn.CHECK]
    keys = ("w1", "w1_floor", "modes", "high_quality", "iters")
    assert {k: got[k] for k in keys} == {k: want[k] for k in keys}
