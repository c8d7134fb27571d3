"""The run folder a user can trust: nothing overwritten by accident, one trainer at a time,
resume that takes the flags it is given, and a clean folder after kill -9 or Ctrl-C."""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np

from tinywgan.job import checkpoint
from tinywgan.cli import main
from tinywgan.job.runfolder import RunFolder
from tinywgan.job.training import TrainingJob

ROOT = pathlib.Path(__file__).resolve().parents[2]              # the repository
TINY = ["--iters", "20", "--width", "8", "--depth", "1", "--log-every", "10", "--eval-n", "100",
        "--eval-every", "0", "--quiet", "--no-figure"]


def train(capsys, *flags):
    """``tinywgan train`` with TINY and ``flags`` (later flags win); (status, stdout, stderr)."""
    status = main(["train"] + TINY + list(flags))
    out, err = capsys.readouterr()
    return status, out, err


def resume(capsys, run, *flags):
    """``tinywgan train --out RUN --resume`` with only ``flags`` changing the run."""
    status = main(["train", "--out", str(run), "--resume", "--quiet", "--no-figure"]
                  + list(flags))
    out, err = capsys.readouterr()
    return status, out, err


def iters(run):
    return [json.loads(line)["iter"] for line in (run / "history.jsonl").read_text().splitlines()]


def one_line(err):
    assert err.count("\n") == 1 and err.startswith("tinywgan ") and "Traceback" not in err, err
    return err


# ---- nothing is overwritten by accident ----------------------------------------------------------

def test_a_folder_that_holds_a_run_is_refused_and_left_as_it_was(tmp_path, capsys):
    run = tmp_path / "run"
    assert train(capsys, "--out", str(run), "--iters", "40")[0] == 0
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    status, _, err = train(capsys, "--out", str(run), "--iters", "20")
    assert status == 2 and "holds a run (checkpoint.npz, metrics.json, 4 history rows)" in err
    assert "--resume" in one_line(err) and "--out" in err and "--force" in err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before

    status, out, _ = train(capsys, "--out", str(run), "--iters", "20", "--force")
    assert status == 0 and iters(run) == [10, 20]
    assert json.loads((run / "metrics.json").read_text())["iters"] == 20


def test_an_empty_out_and_a_file_are_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, _, err = train(capsys, "--out", "")
    assert status == 2 and "non-empty path" in one_line(err)
    (tmp_path / "afile").write_text("keep")
    status, _, err = train(capsys, "--out", "afile")
    assert status == 2 and "afile is a file, not a folder" in one_line(err)
    assert sorted(os.listdir(tmp_path)) == ["afile"]           # no runs/ made either


def test_resume_refuses_force_preset_and_a_folder_without_a_checkpoint(tmp_path, capsys):
    for flag in ("--force", "--preset=gan_toy"):
        status, _, err = resume(capsys, tmp_path, flag)
        assert status == 2 and "drop it" in one_line(err)
    status, _, err = resume(capsys, tmp_path)
    assert status == 2 and "holds no checkpoint.npz to resume" in one_line(err)


# ---- one trainer at a time -----------------------------------------------------------------------

def test_a_held_lock_keeps_a_second_trainer_out_and_a_stale_one_is_taken_over(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    holder = RunFolder(str(run))
    holder.lock()                           # an flock on its own open file: held
    try:
        status, _, err = train(capsys, "--out", str(run))
        assert status == 2 and "another trainer (pid %d) is using" % os.getpid() in one_line(err)
    finally:
        holder.unlock()
    assert not (run / "lock").exists()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()                             # a pid that no longer runs, left in the lock file
    (run / "lock").write_text("%d\n" % gone.pid)
    status, out, _ = train(capsys, "--out", str(run))
    assert status == 0 and "note: took over the lock of pid %d" % gone.pid in out
    assert not (run / "lock").exists()


# ---- resume takes the flags it is given ----------------------------------------------------------

def test_resume_extends_a_finished_run_and_the_time_accumulates(tmp_path, capsys):
    run = tmp_path / "run"
    assert train(capsys, "--out", str(run))[0] == 0
    first = json.loads((run / "metrics.json").read_text())
    status, out, _ = resume(capsys, run, "--iters", "40",
                           "--log-every", "5", "--lr-d", "1e-3")
    assert status == 0
    assert "resuming at iteration 20: wgan-gp on 8gaussians, 40 iterations" in out
    assert "changed: iters 20 -> 40, lr_d 0.002 -> 0.001, log_every 10 -> 5" in out
    assert iters(run) == [10, 20, 25, 30, 35, 40]
    second = json.loads((run / "metrics.json").read_text())
    assert second["iters"] == 40 and second["seconds"] > first["seconds"]
    saved = json.loads((run / "config.json").read_text())
    assert (saved["iters"], saved["lr_d"], saved["log_every"]) == (40, 1e-3, 5)

    status, out, _ = resume(capsys, run)      # nothing left to do
    assert status == 0 and "resuming at iteration 40" in out and "changed" not in out
    assert json.loads((run / "metrics.json").read_text())["seconds"] == second["seconds"]
    assert iters(run) == [10, 20, 25, 30, 35, 40]


def test_resume_refuses_what_cannot_change(tmp_path, capsys):
    run = tmp_path / "run"
    assert train(capsys, "--out", str(run))[0] == 0
    for flags, match in ((["--width", "16"], "cannot change width 8 -> 16"),
                         (["--method", "wgan"], "cannot change method wgan-gp -> wgan"),
                         (["--iters", "10"], "iters = 10 is below the 20 iterations")):
        status, _, err = resume(capsys, run, *flags)
        assert status == 2 and match in one_line(err)


def test_a_checkpoint_cadence_applies(tmp_path, capsys, monkeypatch):
    saved = []
    plain = RunFolder.save_checkpoint

    def record(self, trainer):
        saved.append(trainer.t)
        plain(self, trainer)
    monkeypatch.setattr(RunFolder, "save_checkpoint", record)
    assert train(capsys, "--out", str(tmp_path / "r"), "--iters", "50", "--log-every", "5",
                 "--checkpoint-every", "20")[0] == 0
    assert saved == [20, 40, 50]
    status, _, err = train(capsys, "--out", str(tmp_path / "s"), "--checkpoint-every", "15")
    assert status == 2 and "checkpoint_every must be a multiple of log_every (10)" in err


# ---- crashes leave a clean folder ----------------------------------------------------------------

def test_resume_cleans_what_a_crash_left(tmp_path, capsys):
    """Temporary files of an interrupted write are deleted, rows after the checkpoint's
    iteration (and a torn last line) are dropped from history.jsonl."""
    run = tmp_path / "run"
    assert train(capsys, "--out", str(run), "--iters", "40")[0] == 0
    tr = TrainingJob.from_checkpoint(run / "checkpoint.npz")
    tr.t = 20                                   # as if killed after logging 30 and 40
    tr.save_checkpoint(run / "checkpoint.npz")
    leftover = run / ".checkpoint.npz.tinywgan-4242-0badf00d.tmp"
    leftover.write_bytes(b"half a checkpoint")
    with open(run / "history.jsonl", "a") as f:
        f.write('{"iter": 40, "w_est')         # a write cut short
    status, out, _ = resume(capsys, run, "--iters", "40")
    assert status == 0 and not leftover.exists()
    assert "deleted 1 temporary file(s)" in out and "dropped 1 unreadable line(s)" in out
    assert "cut history.jsonl back to iteration 20" in out
    assert iters(run) == [10, 20, 30, 40]
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.npz", "config.json",
                                                     "history.jsonl", "metrics.json"]


def test_writes_never_follow_a_symlink_out_of_the_folder(tmp_path, capsys):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    run = tmp_path / "run"
    assert train(capsys, "--out", str(run))[0] == 0
    (run / "history.jsonl").unlink()
    (run / "history.jsonl").symlink_to(outside)
    for flags in (["--resume", "--iters", "30"], ["--force"]):
        status, _, err = train(capsys, "--out", str(run), *flags)
        assert status == 2 and "history.jsonl is a symbolic link" in one_line(err)
    assert outside.read_text() == "precious\n"


def test_files_get_the_umask_s_mode(tmp_path, capsys):
    old = os.umask(0o027)
    try:
        assert train(capsys, "--out", str(tmp_path / "run"))[0] == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "run").iterdir()}
    assert modes == dict.fromkeys(["config.json", "history.jsonl", "checkpoint.npz",
                                   "metrics.json"], 0o640)


def _spawn(cwd, *flags):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "tinywgan", "train", "--width", "8",
                             "--depth", "1", "--log-every", "3", "--eval-every", "0",
                             "--eval-n", "100", "--no-figure", *flags], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_rows(path, rows, proc):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists() and len(path.read_text().splitlines()) >= rows:
            return
        time.sleep(0.02)
    raise AssertionError("no %d history rows: %s" % (rows, proc.communicate()))


def test_kill_9_in_a_loop_leaves_a_run_that_resumes_cleanly(tmp_path, capsys):
    """Three trainers killed at random points: the checkpoint always loads, a second trainer
    is kept out while one runs, and the finished history has each logged iteration once."""
    run = tmp_path / "run"
    rng = np.random.default_rng(0)
    for k in range(3):
        proc = _spawn(tmp_path, "--out", "run", "--iters", "100000",
                      *(["--resume"] if k else []))
        _wait_for_rows(run / "history.jsonl", 2 * k + 2, proc)
        if k == 0:
            status, _, err = resume(capsys, run)
            assert status == 2 and "another trainer (pid %d)" % proc.pid in one_line(err)
        time.sleep(rng.uniform(0, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        t = TrainingJob.from_checkpoint(run / "checkpoint.npz").t
        assert t % 3 == 0 and t >= 3
    status, out, err = resume(capsys, run, "--iters", str(t + 6))
    assert status == 0, err
    rows = iters(run)
    assert rows == sorted(set(rows)) and rows[-1] == t + 6, rows
    assert not [n for n in os.listdir(run) if checkpoint.is_temporary(n) or n == "lock"]


def test_ctrl_c_saves_the_iteration_and_says_how_to_resume(tmp_path, capsys):
    proc = _spawn(tmp_path, "--out", "run", "--iters", "100000")
    _wait_for_rows(tmp_path / "run" / "history.jsonl", 2, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    t = TrainingJob.from_checkpoint(tmp_path / "run" / "checkpoint.npz").t
    assert proc.returncode == 130 and one_line(err) == (
        "tinywgan train: interrupted; iteration %d is saved in run/checkpoint.npz; resume "
        "with: python -m tinywgan train --out run --resume\n" % t)
    assert t >= 6 and not (tmp_path / "run" / "lock").exists()
    assert resume(capsys, tmp_path / "run", "--iters", str(t + 1))[0] == 0


# ---- the last corners (issue 22, item 3) ---------------------------------------------------------

def test_a_history_that_does_not_parse_is_set_aside_and_the_run_resumes(tmp_path, capsys):
    """A line of 3,000 nested brackets made json.loads raise RecursionError: --resume, a new
    run and --force all failed. Now the file is renamed (never deleted), with a note."""
    run = tmp_path / "run"
    assert train(capsys, "--out", str(run))[0] == 0
    wedged = (run / "history.jsonl").read_text() + "[" * 3000 + "]" * 3000 + "\n"
    (run / "history.jsonl").write_text(wedged)
    status, out, err = train(capsys, "--out", str(run))            # a new run: still refused
    assert status == 2 and "holds a run (checkpoint.npz, metrics.json, 2 history rows)" in \
        one_line(err)
    status, out, err = resume(capsys, run, "--iters", "30")
    assert status == 0, err
    assert "note: set history.jsonl aside as history.jsonl.set-aside-1 (line 3 does not " \
           "parse; the run resumes from its checkpoint)" in out
    assert (run / "history.jsonl.set-aside-1").read_text() == wedged
    assert iters(run) == [10, 20, 30]
    (run / "history.jsonl").write_text(wedged)
    assert train(capsys, "--out", str(run), "--force")[0] == 0      # --force replaces it
    assert iters(run) == [10, 20]


def test_the_clean_up_touches_only_tinywgan_s_own_temporary_files(tmp_path, capsys):
    """A user's file or folder that looks like a temporary one stays; a folder with the very
    name tinywgan would use does not stop a start ('Is a directory' before)."""
    run = tmp_path / "run"
    run.mkdir()
    mine = [run / ".my.notes.backup.tmp", run / ".notes.txt.tinywgan-4242-0badf00d.tmp"]
    for path in mine:
        path.write_text("mine\n")
    folders = [run / ".checkpoint.npz.tinywgan-4242-0badf00d.tmp", run / ".a.b.c.tmp"]
    for path in folders:
        path.mkdir()
    left = run / ".checkpoint.npz.tinywgan-4242-0badf00e.tmp"      # what a kill -9 leaves
    left.write_bytes(b"half a checkpoint")
    status, out, err = train(capsys, "--out", str(run))
    assert status == 0, err
    assert "deleted 1 temporary file(s) an interrupted write left (%s)" % left.name in out
    assert not left.exists() and all(p.read_text() == "mine\n" for p in mine)
    assert all(p.is_dir() for p in folders)
    assert resume(capsys, run)[0] == 0


def test_a_kill_during_the_first_checkpoint_lets_train_start_again(tmp_path, capsys):
    """kill -9 inside the first checkpoint's write: no checkpoint, rows in history.jsonl and a
    temporary file. Before, only --force restarted it (deleting the history); now train does,
    the rows set aside."""
    run = tmp_path / "run"
    script = ("import os, signal, sys\n"
              "from tinywgan.job import checkpoint\n"
              "def half(f, host):\n"
              "    f.write(b'PK half a zip'); f.flush(); os.kill(os.getpid(), signal.SIGKILL)\n"
              "checkpoint._write_npz = half\n"
              "from tinywgan.cli import main\n"
              "sys.exit(main(['train'] + sys.argv[1:]))\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", script, "--out", str(run)] + TINY, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    names = sorted(os.listdir(run))
    assert "checkpoint.npz" not in names and iters(run) == [10]
    assert [n for n in names if checkpoint.is_temporary(n)], names
    rows = (run / "history.jsonl").read_text()
    status, out, _ = resume(capsys, run)
    assert status == 2                                      # nothing to resume
    status, out, err = train(capsys, "--out", str(run))
    assert status == 0, err
    assert "set history.jsonl aside as history.jsonl.set-aside-1 (rows of a run that wrote no " \
           "checkpoint" in out and "deleted 1 temporary file(s)" in out
    assert (run / "history.jsonl.set-aside-1").read_text() == rows
    assert iters(run) == [10, 20]


def test_the_seconds_in_metrics_never_decrease(tmp_path, capsys):
    """metrics.json's seconds are the checkpoint's: a resume with nothing to do leaves them
    (1059.72 -> 1059.44 before), one that trains adds to them."""
    run = tmp_path / "run"
    assert train(capsys, "--out", str(run))[0] == 0
    seconds = [json.loads((run / "metrics.json").read_text())["seconds"]]
    assert seconds[0] == checkpoint.load(run / "checkpoint.npz")[1]["seconds"]
    for flags in ([], [], ["--iters", "30"], []):
        assert resume(capsys, run, *flags)[0] == 0
        seconds.append(json.loads((run / "metrics.json").read_text())["seconds"])
    assert seconds == sorted(seconds) and seconds[3] > seconds[2], seconds


def test_a_no_op_resume_keeps_the_seconds_an_older_metrics_json_reported(tmp_path, capsys):
    """An older tinywgan reported the loop's time after the last log step in metrics.json but
    not in the checkpoint: a resume starts from the larger."""
    run = tmp_path / "run"
    assert train(capsys, "--out", str(run))[0] == 0
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["seconds"] += 0.28
    (run / "metrics.json").write_text(json.dumps(metrics))
    assert resume(capsys, run)[0] == 0
    assert json.loads((run / "metrics.json").read_text())["seconds"] >= metrics["seconds"]
    (run / "metrics.json").write_text("[" * 3000)               # not a number: no error
    assert resume(capsys, run)[0] == 0
    assert json.loads((run / "metrics.json").read_text())["seconds"] >= metrics["seconds"]
