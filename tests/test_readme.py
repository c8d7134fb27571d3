"""The README's promises: its test command is CI's, its code runs as printed, each picture it
shows is what docs/make_pictures.py wrote from the command under it, and the numbers of the main
job's table and of the lessons' paragraphs are what docs/make_numbers.py recorded."""
import importlib.util
import json
import pathlib
import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

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


#: A number in the README's prose, as written: a minus only after a space, "(" or "=" (so that
#: "+-0.5" and a range such as 0.42-1.53 read as unsigned), thousands grouped by a space or a comma
#: (4 096, 12,000), a decimal or a power of ten (1.3e-7), and " %" after it if there is one; not
#: part of a name (W1, R1, x_i).
README_NUMBER = re.compile(r"(?:(?<=[\s(=])(-)|(?<![\w.]))"
                           r"(\d{1,3}(?:[ ,]\d{3})+(?![\d.])|\d+(?:\.\d+)?(?:e-\d+)?)( ?%)?")
#: A number in a lesson's printed lines, and " %" after it if there is one; its minus is kept
#: unless it follows a digit (0.42-1.53).
PRINTED_NUMBER = re.compile(r"((?:(?<![\d.])-)?\d+(\.\d+)?(?:e[-+]?\d+)?)( ?%)?")

#: The numbers in each lesson's paragraphs that are not its run's output, as written (without
#: grouping, with its minus and %, if any: 4096 for 4 096, 80% for 80 %), and why: settings,
#: constants, sizes, names, other runs. A listed value is left out wherever it stands in that
#: lesson's text; each must stand there (a stale entry fails).
NOT_RUN = {
    1: "3 2 1 4",                       # the piles P and Q; the indices i-1
    2: "0 2 1",                         # P_0, theta != 0; log 2; the slope +-1
    3: "1 2",                           # 1-D; 2 log 2 - 2 JSD, lesson 2
    4: "8 20 4096 1 2017 2.2 80% 2000",  # 8gaussians; every 20 iterations; 4 096 samples;
        # lam = 1; the paper's year and section; the 80 % band; 2 000 iterations
    5: "0.1 1 2 300",                   # eta; sqrt(1 + eta^2); 300 steps
    6: "2018 0 1 0.1 4 3000 1.41 0.3 0.01 2 2024",  # the paper's year; the equilibrium (0, 0),
        # MLP([1, 1]), z = 1, |psi| <= 1, the start (1, 1) and its distance sqrt 2; h; 4 decimals;
        # 3 000 iterations; gamma; within 0.01; (2 lam, 0), 2 away; R1 + R2; RpGAN's year
    7: "12 1000 5 0 0.01 0.001 0.1 64 2",  # 12 layers (12 down to 0); 1000 iterations, 5 critic
        # steps; the clips c; sqrt(64/2), 64 units
    8: "3000 0 1",                      # 3000 steps; a maximum of 0; 1 = f falls at its full slope
    9: "1 5 95%",                       # norms at 1; the 5-95 % range
    10: "2017 3 4 8 2000 50 4096 1000 1 2 40",  # the paper's year and figures; 8gaussians; 2 000
        # iterations, every 50; samples of 4 096 and 1 000; 1-Lipschitz; log 2, L_D/2;
        # 40 evaluations
    11: "8 25 2500 3 30% 0 1",          # 8gaussians and 25gaussians, of 8, of 25; 2 500 samples;
        # 3 std, 3 seeds; 30 % of each schedule; seed 0; seeds 1 (seed 2 is checked: 2 modes)
    12: "8 36 512 0.1 1 256",           # 8gaussians, 8/8; 36 frames; 512 points; two real sets'
        # distance (measured by test_12, not printed here); 1-Lipschitz; the main job's batch
    13: "1797 10 256 1000 898 8000 64 1",  # the set's size; lam, width; every 1 000 iterations;
        # its halves, n = 898; 8 000 iterations; 64 dimensions, batches of 64; 1-Lipschitz
    14: "1e-6 0",                       # the tolerance; s'' = 0
    15: "1000 1 2 8 32 2021 2022 0",    # 1,000-point samples, 1,000 iterations; K = 1;
        # d = 2, 8 and 32; 8gaussians; the references' years; means above 0
}

#: Parts of a lesson's text quoting a run other than its README command: (first words, last
#: words, why); the test leaves out the text from the first words to the last, which must stand.
OTHER_RUNS = {
    8: [("`--datasets swissroll --steps 10000`", "(0.10).", "a longer run, about 70 s of CPU")],
    11: [("The full schedules over 5 seeds", "| 31.0 +- 1.9 |",
          "TINYWGAN_FULL=1: 5 seeds of the full schedules, 25 min on 2 cores"),
         ("(At 10 % the clipped", "than the GAN.)", "an earlier default, 10 % of each schedule")],
}


def readme_numbers(text):
    """[(as written, negative, the digits without grouping, followed by %)] in ``text``."""
    return [(m.group(0).strip(), m.group(1) == "-", re.sub("[ ,]", "", m.group(2)),
             bool(m.group(3))) for m in README_NUMBER.finditer(text)]


def rounds_to(printed, digits):
    """Whether the printed number, rounded half up to as many decimals as ``digits`` has (for a
    power of ten, 1.3e-7, as many as its mantissa has, at its power), is ``digits``."""
    mantissa, _, power = digits.partition("e")
    want = Decimal(mantissa)
    with localcontext(Context(prec=100)):             # 1e-32 or 9.035e+02 to any decimals
        return abs(printed).scaleb(-int(power or 0)).quantize(
            Decimal(1).scaleb(want.as_tuple().exponent), ROUND_HALF_UP) == want


def quoted_but_not_printed(text, printed_lines, not_run=""):
    """The numbers of ``text`` that are neither in ``not_run`` nor printed. A README number
    matches a printed one when the printed one, rounded to the README's decimals, gives it
    (0.8353 is quoted as 0.84 or 0.835, never 0.83; 93 as 93.0, never 93.4). A README number
    followed by % matches a printed percentage, a printed decimal (a table's "HQ %" column), or a
    printed fraction times 100 (0.684 quoted as 68 %), never a printed whole number (a count, a
    layer's index); a README number without % never matches a printed percentage. A README
    minus must be printed; a README number without one matches either sign (the README writes
    +- and ranges without it)."""
    printed = []                                      # (value, "%", "." for a decimal, or "")
    for number, decimals, percent in PRINTED_NUMBER.findall("\n".join(printed_lines)):
        printed.append((Decimal(number), "%" if percent else "." if decimals or "e" in number
                        else ""))
    skip = set(not_run.split())
    missing = []
    for written, negative, digits, percent in readme_numbers(text):
        if "-" * negative + digits + "%" * percent in skip:
            continue
        values = [p for p, kind in printed if (kind in ("%", ".") if percent else kind != "%")]
        if percent:
            values += [100 * p for p, kind in printed if kind != "%" and abs(p) <= 1]
        if not any((p < 0 or not negative) and rounds_to(p, digits) for p in values):
            missing.append(written)
    return missing


def test_lessons_numbers_are_their_recorded_runs():
    """Every number in a lesson's paragraphs (from its picture to its command) is one its
    command printed when docs/make_numbers.py --lessons recorded it (``quoted_but_not_printed``
    says how a quoted number matches a printed one), unless ``NOT_RUN`` names it (a setting, a
    constant, a size) or ``OTHER_RUNS`` the words around it (a run that is not the command's).
    A number is looked for in all the lines its lesson printed, not in the line its sentence
    means: it finds the numbers no run printed, not a number that a coincidence elsewhere in
    the output matches. The timings on the commands' lines are one machine's: not checked."""
    mn = docs_script("make_numbers")
    recorded = NUMBERS.get("lessons", {})
    failures = []
    for n, (text, command) in mn.lessons(README).items():
        remake = "python docs/make_numbers.py --lessons %d" % n
        if command not in recorded:
            failures.append("lesson %d (`%s`) is not in docs/numbers.json: %s"
                            % (n, command, remake))
            continue
        for first, last, _ in OTHER_RUNS.get(n, ()):
            flat = " ".join(text.split())
            assert first in flat and last in flat.split(first, 1)[1], \
                "lesson %d: OTHER_RUNS' %r ... %r is not in its text" % (n, first, last)
            text = flat.split(first, 1)[0] + flat.split(first, 1)[1].split(last, 1)[1]
        written = {"-" * negative + d + "%" * percent
                   for _, negative, d, percent in readme_numbers(text)}
        stale = [x for x in NOT_RUN.get(n, "").split() if x not in written]
        assert not stale, "lesson %d: NOT_RUN lists %s, not in its text" % (n, stale)
        missing = quoted_but_not_printed(text, recorded[command]["printed"], NOT_RUN.get(n, ""))
        if missing:
            failures.append("lesson %d (`%s`): the README quotes %s, which its recorded run did "
                            "not print: mend the sentence, or remake the record (%s) if the "
                            "lesson changed" % (n, command, ", ".join(missing), remake))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("number", [1, 5])
def test_short_lessons_still_print_their_record(number, tmp_path):
    """The two lessons that run in a second, run again here, print their recorded lines to the
    last digit (on the record's NumPy and BLAS kernel only, as for the main job's short run): a
    change to them is seen at once, not at the next remaking of the record."""
    mn = docs_script("make_numbers")
    here, there = mn.machine(), NUMBERS["machine"]
    if (here["numpy"], here["blas"]) != (there["numpy"], there["blas"]):
        pytest.skip("docs/numbers.json was made with NumPy %s, %s; this is NumPy %s, %s"
                    % (there["numpy"], there["blas"], here["numpy"], here["blas"]))
    command = mn.lessons(README)[number][1]
    got = mn.run_lesson(command, str(tmp_path / "work"))["printed"]
    assert got == NUMBERS["lessons"][command]["printed"], \
        "`%s` prints other lines than its record: python docs/make_numbers.py --lessons %d" % (
            command, number)
