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

Why atomic: training runs are killed (time limits, Ctrl-C, full disks). ``save`` (through
``atomic_write``, which the run folder's other files use too) writes a temporary file
``.NAME.tinywgan-PID-RANDOM.tmp`` in the target's directory, flushes it to disk (``fsync``) and
only then renames it onto the target with ``os.replace``, which is atomic on POSIX and Windows. A
crash at any point leaves either the old file or the new one, never half of one; an exception
removes the temporary file, and after a kill -9 ``is_temporary`` names what the next start may
delete: only names of the form ``.NAME.tinywgan-PID-HEX8.tmp``, which no user file matches by
accident. The rename replaces a symbolic link at the target rather than writing through it, and
the file gets the mode the user's umask gives (as ``open`` would), not ``mkstemp``'s 0600.

Why bounded: a corrupt or hostile file can declare an array of any size in its header, and a
deflated member can expand about 1030 times (a 1 MB zip of zeros holds 1 GB). ``load`` reads the
zip directory and every member's ``.npy`` header first (a few hundred bytes each) and refuses,
before any array is decompressed or allocated: a duplicate member, a declared size that does not
match the bytes the member holds, a meta over ``META_MAX`` bytes, names, shapes or dtypes that
``expected(meta)`` (the caller's, e.g. from the config in the meta) does not allow, and a total
over the machine's memory. Then each array is streamed into an array of its declared size, never
more.

Numbers that are not arrays (an optimizer's step counter ``t``) can go in ``arrays`` too: they
are stored as 0-d arrays, and ``Optimizer.load_state_dict`` accepts 0-d int arrays back.
"""
import json
import math
import os
import re
import secrets
import zipfile

import numpy as np

from .. import backend

FORMAT_VERSION = 1
_VERSION_KEY = "__format_version__"
_META_KEY = "__meta__"
_TMP = ".tmp"           # atomic_write's temporary files: .NAME.tinywgan-PID-HEX8.tmp
_TMP_NAME = re.compile(r"\.(.+)\.tinywgan-([0-9]+)-([0-9a-f]{8})\.tmp\Z")
META_MAX = 1 << 20      # bytes of meta JSON a checkpoint may hold
_CHUNK = 1 << 20        # arrays are read in pieces of this many bytes
_DEFLATE_MAX = 1032     # deflate's largest ratio of uncompressed to compressed bytes


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
    path = _path(path)
    host = _to_host(arrays)
    if not isinstance(meta, dict):
        raise TypeError("meta must be a dict, got %s" % type(meta).__name__)
    try:
        text = json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise TypeError("meta must be JSON-serialisable (%s); convert NumPy numbers with int() or "
                        "float() and arrays with .tolist(), or put arrays in `arrays`" % e) from e
    host[_VERSION_KEY] = np.asarray(FORMAT_VERSION, dtype=np.int64)
    host[_META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda f: _write_npz(f, host))


def atomic_write(path, write):
    """Write a file atomically: ``write(f)`` fills a temporary binary file beside ``path``,
    which is flushed to disk and then renamed onto ``path`` (the module docstring says why).

    Inputs: path: str or os.PathLike; write: a function of one open binary file.
    Raises FileNotFoundError if the directory does not exist, and whatever ``write`` or the
    file system raises (OSError: a full disk, no permission), with the temporary file removed.
    """
    path = _path(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError("cannot write %r: the directory %r does not exist; create it "
                                "first (os.makedirs)" % (path, directory))
    tmp = os.path.join(directory, ".%s.tinywgan-%d-%s%s" % (os.path.basename(path), os.getpid(),
                                                            secrets.token_hex(4), _TMP))
    # O_EXCL: a new file, never an existing one or a link's target; 0o666 less the umask
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())            # the bytes are on disk before the rename
        os.replace(tmp, path)               # atomic: old file or new file, nothing between
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_directory(directory)             # make the rename itself durable (POSIX)


def is_temporary(name, targets=None):
    """Whether a file name is one of ``atomic_write``'s temporary files
    (``.NAME.tinywgan-PID-HEX8.tmp``, HEX8 eight lowercase hex digits), for a target NAME in
    ``targets`` if given: after a kill -9 one may be left over, which the next writer may delete.
    A user's ``.notes.backup.tmp`` does not match. (Whether it is a regular file is the
    caller's to check.)"""
    m = _TMP_NAME.match(name) if isinstance(name, str) else None
    return m is not None and (targets is None or m.group(1) in targets)


def load(path, expected=None):
    """Read a checkpoint written by ``save``, checking every size before allocating anything.

    Inputs:
    - path: the file.
    - expected: None, or a function of the meta dict returning {name: (shape, dtype or None)}
      for every array the file may hold (a dtype None: any integer dtype). It may raise
      CheckpointError (a meta it refuses). Names it does not list, and other shapes or dtypes,
      are refused before any array is read.

    Returns:
    - arrays: dict str -> NumPy array (host), in the order they were saved.
    - meta: dict, as saved.

    Raises CheckpointError (a ValueError) saying which file, what is wrong and what to do.
    """
    path = _path(path)
    if not os.path.isfile(path):
        raise CheckpointError("no checkpoint file at %r: check the path (a run folder holds "
                              "checkpoint.npz once its first log step is done)" % path)
    if not zipfile.is_zipfile(path):
        raise CheckpointError("%r is not an .npz (zip) file: it is truncated or corrupt (a copy "
                              "cut short?), or not a tinywgan checkpoint. Use an earlier "
                              "checkpoint or start again" % path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            seen, dup = set(), []
            for info in infos:
                if info.filename in seen:
                    dup.append(info.filename)
                seen.add(info.filename)
            if dup:
                raise CheckpointError("%r holds the member(s) %s twice (which one counts is up "
                                      "to the reader): tinywgan writes each once, so the file "
                                      "was altered" % (path, ", ".join(sorted(set(dup)))))
            headers = {info.filename[:-4]: _read_header(zf, info, path) for info in infos}
            small = {}
            for key in (_VERSION_KEY, _META_KEY):        # small: read before the others
                if key in headers:
                    shape, dtype, info = headers[key]
                    if math.prod(shape) * dtype.itemsize > META_MAX:
                        raise CheckpointError("%r: its %s declares %d bytes, more than the %d "
                                              "a checkpoint holds: the file is corrupt"
                                              % (path, key, math.prod(shape) * dtype.itemsize,
                                                 META_MAX))
                    small[key] = _read_data(zf, info, shape, dtype)
            _check_version(small.get(_VERSION_KEY), path)  # (only version 1 exists so far)
            meta = _meta(small.get(_META_KEY), path)
            arrays = {k: v for k, v in headers.items() if k not in (_VERSION_KEY, _META_KEY)}
            if expected is not None:
                _check_declared(arrays, expected(meta), path)
            _check_memory(arrays, path)
            return {k: _read_data(zf, info, shape, dtype)
                    for k, (shape, dtype, info) in arrays.items()}, meta
    except CheckpointError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, ValueError, NotImplementedError) as e:
        raise CheckpointError("%r could not be read (%s: %s): the file is corrupt. Use an "
                              "earlier checkpoint" % (path, type(e).__name__, e)) from e


def check_arrays(arrays, expected, where="checkpoint"):
    """Check that ``arrays`` holds exactly the ``expected`` names with the expected shapes (and
    dtypes, where given).

    Inputs:
    - arrays: dict str -> array (e.g. from ``load``).
    - expected: dict str -> a shape (a tuple), or an array whose shape and dtype are wanted.
    - where: what ``arrays`` is, for the message.

    Raises CheckpointError listing every missing name, unexpected name, shape and dtype mismatch
    (on one line).
    """
    if not isinstance(arrays, dict) or not isinstance(expected, dict):
        raise TypeError("check_arrays: arrays and expected must be dicts str -> array (or "
                        "shape), got %s and %s" % (type(arrays).__name__,
                                                   type(expected).__name__))
    for k, v in expected.items():
        want = getattr(v, "shape", v)
        if not isinstance(want, (tuple, list)) or not all(isinstance(n, (int, np.integer))
                                                          for n in want):
            raise TypeError("check_arrays: expected[%r] must be a shape (a tuple of ints) or an "
                            "array, got %r" % (k, v))
    missing = [k for k in expected if k not in arrays]
    unexpected = [k for k in arrays if k not in expected]
    wrong = []
    for k in expected:
        if k in arrays:
            want = tuple(getattr(expected[k], "shape", expected[k]))
            found = tuple(getattr(arrays[k], "shape", ()))
            if want != found:
                wrong.append("%s: expected shape %s, found %s" % (k, want, found))
            want = getattr(expected[k], "dtype", None)
            if want is not None and getattr(arrays[k], "dtype", None) != want:
                wrong.append("%s: expected dtype %s, found %s"
                             % (k, want, getattr(arrays[k], "dtype", type(arrays[k]).__name__)))
    if missing or unexpected or wrong:
        parts = ["%s does not match what was expected" % where]
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unexpected:
            parts.append("unexpected " + ", ".join(unexpected))
        parts += wrong
        raise CheckpointError("; ".join(parts) + ". Was it saved with another configuration "
                              "(widths, optimizer, dtype) or altered since?")


# ---- internals ---------------------------------------------------------------------------------
def _to_host(arrays):
    """Validate names and bring every array to the host (explicitly)."""
    if not isinstance(arrays, dict):
        raise TypeError("arrays must be a dict str -> array, got %s" % type(arrays).__name__)
    host = {}
    for name, a in arrays.items():
        if not isinstance(name, str) or not name or name.startswith("__"):
            raise ValueError("arrays' names must be non-empty strings not starting with '__' "
                             "(reserved for the file format), got %r" % (name,))
        try:
            a = np.asarray(backend.to_numpy(a))
        except ValueError:                  # ragged lists
            a = np.empty(0, dtype=object)
        if a.dtype.hasobject:
            raise TypeError("arrays[%r] is not an array of numbers (it would need pickle); store "
                            "numbers in a numeric array or in meta" % name)
        host[name] = a
    return host


def _write_npz(f, host):
    """What ``np.savez`` does, minus its keyword names (``file``, ``allow_pickle``) that would
    clash with array names, and with pickling switched off."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, a in host.items():
            with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, a, allow_pickle=False)


def _path(path):
    """A non-empty path as a str; else a TypeError or ValueError naming it."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError("path must be a str or os.PathLike, got %s" % type(path).__name__)
    path = os.fspath(path)
    if not isinstance(path, str) or not path or "\0" in path:
        raise ValueError("path must be a non-empty file name without NUL bytes, got %r" % (path,))
    return path


def _read_header(zf, info, path):
    """One member's (shape, dtype, info), from its zip entry and its .npy header only (a few
    hundred bytes decompressed), its declared size checked against the bytes it holds."""
    if not info.filename.endswith(".npy"):  # np.savez writes only .npy members
        raise CheckpointError("%r holds %r, which is not an .npy array: not a tinywgan "
                              "checkpoint" % (path, info.filename))
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or \
            info.compress_size > os.path.getsize(path) or \
            info.file_size > _DEFLATE_MAX * max(info.compress_size, 1):
        raise CheckpointError("%r: member %r declares %d bytes in %d stored ones (or an unknown "
                              "compression): the file is corrupt" % (path, info.filename,
                                                                    info.file_size,
                                                                    info.compress_size))
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise CheckpointError("%r: member %r is an .npy of version %s, which tinywgan does "
                                  "not write" % (path, info.filename, version))
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
            else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
        if dtype.hasobject:
            raise CheckpointError(
                "%r holds an object array %r, i.e. pickled data, which tinywgan never writes and "
                "refuses to load (unpickling can run arbitrary code). Do not use this file unless "
                "you trust its source and convert it yourself" % (path, info.filename[:-4]))
        if fortran and len(shape) > 1:
            raise CheckpointError("%r: member %r is stored in Fortran order, which tinywgan "
                                  "does not write" % (path, info.filename))
        declared = math.prod(shape) * dtype.itemsize          # Python ints: no overflow
        held = info.file_size - f.tell()
    if declared != held:
        raise CheckpointError("%r: member %r declares shape %s %s (%d bytes) but holds %d bytes: "
                              "the file is corrupt" % (path, info.filename, shape, dtype,
                                                       declared, held))
    return shape, dtype, info


def _read_data(zf, info, shape, dtype):
    """The member's array, streamed into an array of its declared size (never more bytes)."""
    out = np.empty(shape, dtype=dtype)
    view = memoryview(out.reshape(-1).view(np.uint8)) if out.size else memoryview(b"")
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        (np.lib.format.read_array_header_1_0 if version == (1, 0)
         else np.lib.format.read_array_header_2_0)(f)
        done = 0
        while done < len(view):
            piece = f.read(min(_CHUNK, len(view) - done))
            if not piece:
                raise EOFError("member %r ends after %d of its %d bytes"
                               % (info.filename, done, len(view)))
            view[done:done + len(piece)] = piece
            done += len(piece)
        if f.read(1):                       # (reading to the end checks the CRC too)
            raise ValueError("member %r holds more than its %d bytes" % (info.filename, done))
    return out


def _check_declared(arrays, allowed, path):
    """Names, shapes and dtypes from the headers against ``allowed`` (expected(meta))."""
    wrong = []
    for k, (shape, dtype, _) in arrays.items():
        if k not in allowed:
            wrong.append("unexpected %s" % k)
            continue
        want_shape, want_dtype = allowed[k]
        if tuple(shape) != tuple(want_shape):
            wrong.append("%s: expected shape %s, found %s" % (k, tuple(want_shape), shape))
        if (dtype.kind not in "iu") if want_dtype is None else dtype != want_dtype:
            wrong.append("%s: expected dtype %s, found %s"
                         % (k, "an integer" if want_dtype is None else want_dtype, dtype))
    if wrong:
        raise CheckpointError("%s does not match the config it holds (checked before reading "
                              "any array): %s. The file was altered or damaged"
                              % (path, "; ".join(wrong)))


def _check_memory(arrays, path):
    """The declared arrays together fit in the machine's memory."""
    from ..validate import memory_bytes, size_text as _size
    need = sum(math.prod(shape) * dtype.itemsize for shape, dtype, _ in arrays.values())
    have = memory_bytes()
    if have is not None and need > have:
        raise CheckpointError("%r declares arrays of %s in all, more than this machine's memory "
                              "(%s): the file is damaged or not meant for this machine"
                              % (path, _size(need), _size(have)))


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
