"""The run folder: the files of one run, and the rules that keep them trustworthy.

    RUN_DIR/config.json      the Config in force (rewritten when a resume changes it)
    RUN_DIR/history.jsonl    one JSON object per logged iteration
    RUN_DIR/checkpoint.npz   the state at the latest checkpoint (``tinywgan.job.resume`` lists it)
    RUN_DIR/metrics.json     the final evaluation
    RUN_DIR/figure.png       the figure
    RUN_DIR/lock             while a trainer uses the folder: its pid

1. **Nothing is overwritten by accident.** A folder that holds a run (a checkpoint or metrics)
   is continued (resume) or replaced (``clear``, the command line's ``--force``), never trained
   over silently. Nothing of a user's is deleted without ``--force``: a history that cannot be
   used (rows of a run killed before its first checkpoint, a file that does not parse) is set
   aside, renamed ``history.jsonl.set-aside-N``, with a note.
2. **One trainer at a time.** ``lock`` writes the pid into ``lock`` and holds an exclusive
   ``flock`` on it. The kernel releases an flock when its process ends, however it ends
   (kill -9 included), so a lock file whose flock is free was left by a trainer that died: it is
   stale, and taken over with a note. (A pid alone cannot tell: pids are reused.)
3. **No write leaves the folder.** Every file is written by ``checkpoint.atomic_write``
   (a temporary file renamed over the target, which replaces a symbolic link rather than
   following it) or appended to with ``O_NOFOLLOW``, and ``check_files`` refuses a run file
   that is a symbolic link or not a regular file. Files get the mode the umask gives.
4. **A crash leaves a usable folder.** ``lock`` deletes the temporary files an interrupted
   ``atomic_write`` left (only regular files named ``.RUNFILE.tinywgan-PID-HEX8.tmp``, never a
   user's look-alike or a folder), and ``history(t)`` cuts history.jsonl back to the
   checkpoint's iteration t (the rows after it belong to iterations the resumed run does again)
   and drops a last line torn by a kill in the middle of a write; a history with any other line
   that does not parse (however deeply nested) is set aside whole. A kill during the first
   checkpoint leaves no checkpoint: the next ``train`` starts again, the rows set aside.
"""
import json
import os
import stat

from . import checkpoint

try:
    import fcntl
except ImportError:                 # Windows: the lock is the file alone (see lock)
    fcntl = None

RUN_FILES = ("config.json", "history.jsonl", "checkpoint.npz", "metrics.json", "figure.png")
LOCK = "lock"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked; the message says what to do."""


class RunFolder:
    """One run's folder. Attributes: path; saved, the iteration of the checkpoint on disk (None
    while there is none); cfg, the Config in force once known (for messages)."""

    def __init__(self, path):
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise RunFolderError("the run folder must be a non-empty path, got %r: name a "
                                 "folder (--out runs/NAME)" % (path,))
        self.path = os.fspath(path)
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise RunFolderError("%s is a file, not a folder: choose a folder for the run "
                                 "(--out runs/NAME)" % self.path)
        self.saved, self.cfg, self._lock_fd = None, None, None
        self.saved_seconds = None           # the training seconds in the checkpoint on disk

    def file(self, name):
        return os.path.join(self.path, name)

    # ---- what is there -------------------------------------------------------------------------
    def check_files(self):
        """Refuse a run file (or the lock) that is a symbolic link or not a regular file."""
        for name in RUN_FILES + (LOCK,):
            path = self.file(name)
            if os.path.islink(path) or (os.path.lexists(path) and not os.path.isfile(path)):
                raise RunFolderError("%s is %s; tinywgan writes only regular files inside the "
                                     "run folder: remove it or choose another folder"
                                     % (path, "a symbolic link" if os.path.islink(path)
                                        else "not a regular file"))

    def holds_run(self):
        """What run the folder holds, as words ('checkpoint.npz, 80 history rows'), or ''."""
        found = [n for n in ("checkpoint.npz", "metrics.json") if os.path.exists(self.file(n))]
        if not found:                       # rows alone: a run killed before its first
            return ""                       # checkpoint, nothing to resume (set_aside keeps them)
        rows = len(self._read_rows()[0])
        return ", ".join(found + (["%d history row%s" % (rows, "" if rows == 1 else "s")] if rows
                                  else []))

    # ---- the lock ----------------------------------------------------------------------------
    def lock(self):
        """Take the folder for this process (rule 2) and delete leftover temporary files (rule
        4). Returns notes for a person (a stale lock taken over, files deleted). Raises
        RunFolderError if another live trainer holds it."""
        path, notes = self.file(LOCK), []
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o666)
            if fcntl is None:
                break
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _pid(fd)
                os.close(fd)
                raise RunFolderError("another trainer (pid %s) is using %s; wait for it to end "
                                     "or stop it (kill %s), or train into another folder"
                                     % (holder, self.path, holder)) from None
            try:                            # still the file at path? (its holder may have
                if os.fstat(fd).st_ino == os.stat(path).st_ino:   # removed it meanwhile)
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        previous = _pid(fd)
        if previous not in (None, os.getpid()):
            if fcntl is None:
                os.close(fd)
                raise RunFolderError("%s holds the pid %d of a trainer; if none runs, delete it"
                                     % (path, previous))
            notes.append("took over the lock of pid %d, which ended without releasing %s"
                         % (previous, self.path))
        os.ftruncate(fd, 0)
        os.write(fd, b"%d\n" % os.getpid())
        self._lock_fd = fd
        left = [n for n in os.listdir(self.path) if checkpoint.is_temporary(n, RUN_FILES)
                and stat.S_ISREG(os.lstat(self.file(n)).st_mode)]
        for name in left:
            os.remove(self.file(name))
        if left:
            notes.append("deleted %d temporary file(s) an interrupted write left (%s)"
                         % (len(left), ", ".join(sorted(left))))
        return notes

    def unlock(self):
        """Release the folder: the lock file is removed while the flock is still held."""
        if self._lock_fd is not None:
            try:
                os.remove(self.file(LOCK))
            except FileNotFoundError:
                pass
            os.close(self._lock_fd)
            self._lock_fd = None

    # ---- writing -----------------------------------------------------------------------------
    def clear(self):
        """Delete the run's files (the command line's --force); other files stay."""
        for name in RUN_FILES:
            if os.path.lexists(self.file(name)):
                os.remove(self.file(name))

    def set_aside(self, name, why):
        """Rename RUN_DIR/name to the first free name.set-aside-N, if it has any bytes; returns
        a note for a person (or None)."""
        path = self.file(name)
        if not os.path.isfile(path) or os.path.islink(path) or os.path.getsize(path) == 0:
            return None
        n = 1
        while os.path.lexists("%s.set-aside-%d" % (path, n)):
            n += 1
        os.rename(path, "%s.set-aside-%d" % (path, n))
        return "set %s aside as %s.set-aside-%d (%s)" % (name, name, n, why)

    def write(self, name, write):
        """``write(f)`` fills RUN_DIR/name, atomically (``checkpoint.atomic_write``)."""
        checkpoint.atomic_write(self.file(name), write)

    def write_json(self, name, obj):
        self.write(name, lambda f: f.write((json.dumps(obj, indent=1) + "\n").encode()))

    def append_history(self, row):
        """One row at the end of history.jsonl (never through a symbolic link)."""
        fd = os.open(self.file("history.jsonl"),
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o666)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(row) + "\n")

    def save_checkpoint(self, trainer):
        trainer.save_checkpoint(self.file("checkpoint.npz"))
        self.saved, self.saved_seconds = trainer.t, trainer.seconds

    # ---- reading -----------------------------------------------------------------------------
    def history(self, t):
        """The history rows up to iteration t, with history.jsonl rewritten to hold exactly
        them (rule 4). Returns (rows, notes for a person)."""
        rows, unreadable = self._read_rows()
        notes = []
        torn = unreadable == [self._lines] and self._lines not in self._deep
        if unreadable and not torn:         # not a write cut short: the user's, kept aside
            notes.append(self.set_aside("history.jsonl", "line %s do%s not parse; the run "
                                        "resumes from its checkpoint" % (
                                            ", ".join(map(str, unreadable[:5])) +
                                            (", ..." if len(unreadable) > 5 else ""),
                                            "es" if len(unreadable) == 1 else "")))
        kept = {r["iter"]: r for r in rows if r["iter"] <= t}            # the last row of each
        kept = sorted(kept.values(), key=lambda r: r["iter"])
        if torn:
            notes.append("dropped %d unreadable line(s) of history.jsonl (line %s: a write cut "
                         "short)" % (len(unreadable), ", ".join(map(str, unreadable))))
        if len(kept) < len(rows):
            notes.append("cut history.jsonl back to iteration %d, the checkpoint's (%d later or "
                         "repeated rows dropped)" % (t, len(rows) - len(kept)))
        if notes or not os.path.exists(self.file("history.jsonl")):
            self.write("history.jsonl", lambda f: f.write("".join(json.dumps(r) + "\n"
                                                                  for r in kept).encode()))
        return kept, notes

    def _read_rows(self):
        """(rows, numbers of the lines that are not a JSON object with an int 'iter')."""
        try:
            with open(self.file("history.jsonl"), "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            self._lines, self._deep = 0, set()
            return [], []
        self._lines, self._deep = len(lines), set()
        rows, unreadable = [], []
        for i, line in enumerate(lines, 1):
            try:
                row = json.loads(line)
            except ValueError:
                row = None
            except RecursionError:          # nested deeper than json.loads goes: not a torn
                row = None                  # write (wedged every start before, issue 22)
                self._deep.add(i)
            if isinstance(row, dict) and type(row.get("iter")) is int:
                rows.append(row)
            elif line.strip():
                unreadable.append(i)
        return rows, unreadable


def _pid(fd):
    """The pid written in the lock file, or None."""
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 32).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None
