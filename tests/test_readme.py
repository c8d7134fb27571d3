"""The README's promises: its test command is CI's, and its code runs as printed."""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


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


def test_every_demo_has_its_command_and_every_picture_its_file():
    """The tour names each demo's command, and each image it shows is committed."""
    demos = sorted(p.name for p in (ROOT / "demos").glob("*.py"))
    missing = [d for d in demos if "python demos/%s" % d not in README]
    missing += [d for d in demos if not re.search(r"^### %d\. " % int(d[:2]), README, re.M)]
    assert not missing, "demos without their command in the README: %s" % missing
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert images, "the README shows no pictures"
    absent = [p for p in images if not (ROOT / p).is_file()]
    assert not absent, "README images not committed: %s" % absent
