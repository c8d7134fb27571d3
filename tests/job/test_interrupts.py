"""Every command as trustworthy as train: Ctrl-C (SIGINT to the process group, as a terminal
sends it) ends each command within seconds in one line on stderr, exit status 130, no worker
left behind; an argument mistake ends in one line naming the flag, exit status 2."""
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from tinywgan.cli import main
from tinywgan.job import protocol

ROOT = pathlib.Path(__file__).resolve().parents[2]              # the repository


#: The process-group checks read /proc.
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

#: The command line, saying 'started' once its parser is built (its imports done).
STARTED = ("import sys; from tinywgan.cli import build_parser, main; build_parser(); "
           "print('started', flush=True); sys.exit(main(sys.argv[1:]))")


def group_members(pgid):
    """The live processes of process group ``pgid`` (read from /proc)."""
    alive = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(pid))
    return alive


def interrupt(argv, tmp_path, ready, limit=60):
    """Start ``argv`` in a new process group, wait until its stdout has shown ``ready`` (or the
    limit), send SIGINT to the group; returns (exit status, stderr, seconds to stop, processes
    of the group still alive)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    p = subprocess.Popen([sys.executable] + argv, cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        seen, t_end = "", time.monotonic() + limit
        while ready not in seen and time.monotonic() < t_end:
            line = p.stdout.readline()
            if not line:
                break
            seen += line
        assert p.poll() is None, "finished before it could be interrupted: %s" % seen
        time.sleep(0.5)
        t0 = time.monotonic()
        os.killpg(p.pid, signal.SIGINT)
        out, err = p.communicate(timeout=30)
        stopped = time.monotonic() - t0
        time.sleep(0.3)
        return p.returncode, err, stopped, group_members(p.pid)
    finally:
        for pid in group_members(p.pid):           # never leave a process behind
            os.kill(pid, signal.SIGKILL)
        if p.poll() is None:
            p.kill()
            p.communicate()


def assert_stopped(result, prog):
    status, err, seconds, left = result
    lines = err.strip().splitlines()
    assert status == 130, err
    assert len(lines) == 1 and lines[0].startswith(prog + ": interrupted"), err
    assert "Traceback" not in err
    assert seconds < 5, seconds
    assert left == [], left


@linux
@pytest.mark.parametrize("argv, prog", [
    (["bench", "--repeats", "1000", "--width", "64", "--warmup", "0"], "tinywgan bench"),
    (["gradcheck"], "tinywgan gradcheck"),
    (["exercises", "check", "--reference"], "tinywgan exercises check"),
    (["bugzoo", "--no-figure"], "tinywgan bugzoo"),
])
def test_ctrl_c_stops_a_command_in_one_line(tmp_path, argv, prog):
    env_argv = ["-c", STARTED] + argv
    assert_stopped(interrupt(env_argv, tmp_path, "started"), prog)


@linux
def test_ctrl_c_stops_table_and_its_workers(tmp_path):
    """The table's spawned workers: terminated at once, none left (they once ran on for 19-42
    s, and once stayed, deadlocked)."""
    argv = ["-c", "import sys; from tinywgan.cli import main; sys.exit(main(sys.argv[1:]))",
            "table", "--datasets", "ring", "--seeds", "2", "--jobs", "2", "--no-figure"]
    result = interrupt(argv, tmp_path, "worker process")
    assert_stopped(result, "tinywgan table")
    assert "0 of %d runs" % (2 * len(protocol.ROWS)) in result[1]      # every row, two seeds


@linux
def test_ctrl_c_stops_sample(tmp_path):
    folder = tmp_path / "run"
    assert main(["train", "--iters", "2", "--width", "8", "--depth", "1", "--log-every", "1",
                 "--eval-n", "100", "--eval-every", "0", "--quiet", "--no-figure",
                 "--out", str(folder)]) == 0
    argv = ["-c", STARTED, "sample", str(folder), "-n", "2000000", "-o",
            str(tmp_path / "points.txt")]
    assert_stopped(interrupt(argv, tmp_path, "started"), "tinywgan sample")
    assert not (tmp_path / "points.txt").exists()          # nothing half-written


# ------------------------------------------------------------------------------------------------
# One line for every argument mistake
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, says", [
    (["train", "--dataset", "8gaussian"],
     ["tinywgan train: --dataset: invalid choice: '8gaussian'", "8gaussians",
      "see tinywgan train --help"]),
    (["train", "--methods", "wgan"], ["tinywgan train: unrecognized", "--methods",
                                      "did you mean --method?"]),
    (["train", "--iter", "3"], ["tinywgan train:", "--iter", "did you mean --iters?"]),
    (["train", "--iters", "x"], ["tinywgan train: --iters: invalid int value: 'x'"]),
    (["bench", "--smok"], ["tinywgan bench:", "--smok"]),
    (["exercises"], ["tinywgan exercises: give a command: init, check, show, list"]),
    ([], ["tinywgan: give a command: train, sample"]),
    (["exercises", "check", "--sed", "1"], ["tinywgan exercises check:", "--seed?"]),
    (["table", "--datasets", "moon"], ["tinywgan table: --datasets: invalid choice: 'moon'"]),
])
def test_argument_mistakes_are_one_line(capsys, argv, says):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "usage:" not in err, err
    for words in says:
        assert words in err, err


@pytest.mark.parametrize("argv, says", [
    (["bench", "--warmup", "-1"], "--warmup must be >= 0, got -1"),
    (["bench", "--batch", "1000000000"], "of memory but the machine has"),
    (["bugzoo", "--figure", "out.txt"], "--figure out.txt: a figure is .png, .pdf or .svg"),
    pytest.param(["bugzoo", "--figure", "/proc/x.png"], "cannot write in /proc", marks=linux),
    (["table", "--figure", "out.txt"], "--figure out.txt: a figure is .png, .pdf or .svg"),
])
def test_bad_values_refused_before_work(capsys, argv, says):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and says in err, err
    assert "Traceback" not in err
