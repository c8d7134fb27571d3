"""Checkpoints: named arrays plus a JSON ``meta`` dict in one ``.npz`` file, with no pickle.

    save(path, {"critic/params": critic.params, "critic_opt/m": ...}, {"iteration": 1200, ...})
    arrays, meta = load(path)               # host NumPy arrays, the meta dict
    check_arrays(arrays, {"critic/params": (P,)})   # all mismatches in one error

The file is an ordinary NumPy ``.npz`` (a zip of ``.npy`` files, the layout ``np.savez``
writes), so ``np.load(path, allow_pickle=False)`` reads it too. Two extra members:

- ``__format_version__``: a 0-d int, ``FORMAT_VERSION`` of the writer;
- ``__meta__``: the meta dict as UTF-8 JSON text in a uint8 array.

Why no pickle: unpickling runs code chosen by whoever wrote the file, so a checkpoint from the
internet could do anything. Every read here uses ``allow_pickle=False`` and object arrays are
refused on write and on read.

Why atomic: training runs are killed (time limits, Ctrl-C, full disks). ``save`` writes a
temporary file in the target's directory, flushes it to disk (``fsync``) and only then renames
it onto the target with ``os.replace``, which is atomic on POSIX and Windows. A crash at any
point leaves either the old checkpoint or the new one, never half of one, and no temporary file.

Numbers that are not arrays (an optimizer's step counter ``t``) can go in ``arrays`` too: they
are stored as 0-d arrays, and ``Optimizer.load_state_dict`` accepts 0-d int arrays back.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

from . import backend

FORMAT_VERSION = 1
_VERSION_KEY = "__format_version__"
_META_KEY = "__meta__"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, corrupt, too new, or not matching the model."""


def save(path, arrays, meta):
    """Write ``arrays`` and ``meta`` to ``path`` atomically (the path is used as given).

    Inputs:
    - path: str or os.PathLike, the target file (conventionally ``*.npz``).
    - arrays: dict str -> array of any shape (NumPy, CuPy or strict; device arrays are copied
      to the host explicitly) or number (stored as a 0-d array). No object arrays.
    - meta: dict, JSON-serialisable (plain int/float/str/list/dict; convert NumPy scalars with
      ``int()`` / ``float()``).
    """
    path = os.fspath(path)
    host = _to_host(arrays)
    if not isinstance(meta, dict):
        raise TypeError("meta must be a dict, got %s" % type(meta).__name__)
    try:
        text = json.dumps(meta)
    except (TypeError, ValueError) as e:
        raise TypeError("meta must be JSON-serialisable (%s); convert NumPy numbers with int() or "
                        "float() and arrays with .tolist(), or put arrays in `arrays`" % e) from e
    host[_VERSION_KEY] = np.asarray(FORMAT_VERSION, dtype=np.int64)
    host[_META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)

    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError("cannot save %r: the directory %r does not exist; create it "
                                "first (os.makedirs)" % (path, directory))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, host)
            f.flush()
            os.fsync(f.fileno())            # the bytes are on disk before the rename
        os.replace(tmp, path)               # atomic: old file or new file, nothing between
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_directory(directory)             # make the rename itself durable (POSIX)


def load(path):
    """Read a checkpoint written by ``save``.

    Returns:
    - arrays: dict str -> NumPy array (host), in the order they were saved.
    - meta: dict, as saved.

    Raises CheckpointError (a ValueError) saying what is wrong and what to do.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError("no checkpoint file at %r: check the path (or the run directory), "
                              "or start without resuming" % path)
    if not zipfile.is_zipfile(path):
        raise CheckpointError("%r is not an .npz (zip) file: it is truncated or corrupt (a copy "
                              "cut short?), or not a tinywgan checkpoint. Use an earlier "
                              "checkpoint or start again" % path)
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            for name in npz.files:
                arrays[name] = _read_member(npz, name, path)
    except CheckpointError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as e:
        raise CheckpointError("%r could not be read (%s: %s): the file is corrupt. Use an "
                              "earlier checkpoint" % (path, type(e).__name__, e)) from e
    _check_version(arrays.pop(_VERSION_KEY, None), path)   # (only version 1 exists so far)
    meta = _meta(arrays.pop(_META_KEY, None), path)
    return arrays, meta


def check_arrays(arrays, expected, where="checkpoint"):
    """Check that ``arrays`` holds exactly the ``expected`` names with the expected shapes.

    Inputs:
    - arrays: dict str -> array (e.g. from ``load``).
    - expected: dict str -> shape (a tuple, or anything with ``.shape``).
    - where: what ``arrays`` is, for the message.

    Raises CheckpointError listing every missing name, unexpected name and shape mismatch.
    """
    missing = [k for k in expected if k not in arrays]
    unexpected = [k for k in arrays if k not in expected]
    wrong = []
    for k in expected:
        if k in arrays:
            want = tuple(getattr(expected[k], "shape", expected[k]))
            found = tuple(arrays[k].shape)
            if want != found:
                wrong.append("%s: expected %s, found %s" % (k, want, found))
    if missing or unexpected or wrong:
        lines = ["%s does not match what was expected:" % where]
        if missing:
            lines.append("  missing: " + ", ".join(missing))
        if unexpected:
            lines.append("  unexpected: " + ", ".join(unexpected))
        if wrong:
            lines.append("  wrong shape: " + "; ".join(wrong))
        lines.append("Was it saved with a different configuration (widths, optimizer)? Resume "
                     "with the configuration stored in its meta.")
        raise CheckpointError("\n".join(lines))


# ---- internals ---------------------------------------------------------------------------------
def _to_host(arrays):
    """Validate names and bring every array to the host (explicitly)."""
    if not isinstance(arrays, dict):
        raise TypeError("arrays must be a dict str -> array, got %s" % type(arrays).__name__)
    host = {}
    for name, a in arrays.items():
        if not isinstance(name, str) or not name or name.startswith("__"):
            raise ValueError("array names must be non-empty strings not starting with '__' "
                             "(reserved for the file format), got %r" % (name,))
        a = np.asarray(backend.to_numpy(a))
        if a.dtype.hasobject:
            raise TypeError("array %r has dtype object, which would need pickle; store numbers "
                            "in a numeric array or in meta" % name)
        host[name] = a
    return host


def _write_npz(f, host):
    """What ``np.savez`` does, minus its keyword names (``file``, ``allow_pickle``) that would
    clash with array names, and with pickling switched off."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, a in host.items():
            with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, a, allow_pickle=False)


def _read_member(npz, name, path):
    try:
        a = npz[name]
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise CheckpointError(
                "%r holds an object array %r, i.e. pickled data, which tinywgan never writes and "
                "refuses to load (unpickling can run arbitrary code). Do not use this file unless "
                "you trust its source and convert it yourself" % (path, name)) from e
        raise
    if not isinstance(a, np.ndarray):       # np.load returns the raw bytes of non-.npy members
        raise CheckpointError("%r holds %r, which is not an .npy array: not a tinywgan "
                              "checkpoint" % (path, name))
    return a


def _check_version(v, path):
    if v is None:
        raise CheckpointError("%r has no %s entry: it is an .npz but not a tinywgan checkpoint "
                              "(or one cut short before the format existed)" % (path, _VERSION_KEY))
    if v.shape != () or v.dtype.kind not in "iu" or int(v) < 1:
        raise CheckpointError("%r has an unknown format version %r; this tinywgan reads versions "
                              "1..%d" % (path, v.tolist(), FORMAT_VERSION))
    if int(v) > FORMAT_VERSION:
        raise CheckpointError("%r was written in format version %d by a newer tinywgan; this one "
                              "reads up to version %d: upgrade tinywgan to load it"
                              % (path, int(v), FORMAT_VERSION))
    return int(v)


def _meta(raw, path):
    if raw is None:
        raise CheckpointError("%r has no %s entry: not a complete tinywgan checkpoint"
                              % (path, _META_KEY))
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError("expected a 1-D uint8 array, got %s %s" % (raw.dtype, raw.shape))
        meta = json.loads(raw.tobytes().decode("utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("expected a JSON object, got %s" % type(meta).__name__)
    except ValueError as e:                 # JSONDecodeError and UnicodeDecodeError included
        raise CheckpointError("%r: its meta is not valid JSON text (%s); the file is corrupt or "
                              "was not written by tinywgan" % (path, e)) from e
    return meta


def _fsync_directory(directory):
    """fsync the directory so the rename survives a power cut (POSIX; a no-op elsewhere)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError:
        pass                                # some file systems refuse it; the data is written
    finally:
        os.close(fd)
