"""Checkpoints: exact round trips, no pickle, clear errors on bad files, atomic writes."""
import json
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tinywgan import backend
from tinywgan.job import checkpoint
from tinywgan.job.checkpoint import CheckpointError, check_arrays, load, save
from tinywgan.core.optim import Adam

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 53, 2 ** 53) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=10)
names = st.text(st.characters(min_codepoint=ord("a"), max_codepoint=ord("z")) | st.just("/"),
                min_size=1, max_size=10).filter(lambda s: not s.startswith("__"))
specs = st.dictionaries(names, st.tuples(st.lists(st.integers(0, 4), max_size=3),
                                         st.sampled_from(["float32", "float64"])), max_size=5)


def _listing(directory):
    return sorted(os.listdir(directory))


@fixture_ok
@given(spec=specs, meta=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
       seed=st.integers(0, 2 ** 16))
def test_round_trip(device, spec, meta, seed):
    xp, rng = backend.array_module(device), np.random.default_rng(seed)
    host = {k: rng.standard_normal(shape).astype(dtype) for k, (shape, dtype) in spec.items()}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ckpt.npz")
        save(path, {k: xp.asarray(a) for k, a in host.items()}, meta)
        arrays, meta2 = load(path)
        assert _listing(d) == ["ckpt.npz"]
    assert meta2 == meta
    assert list(arrays) == list(host)
    for k, a in host.items():
        assert type(arrays[k]) is np.ndarray and arrays[k].dtype == a.dtype
        assert arrays[k].shape == a.shape
        np.testing.assert_array_equal(arrays[k], a)


def test_plain_numpy_reads_it_without_pickle(tmp_path):
    path = tmp_path / "ckpt.npz"
    save(path, {"critic/params": np.arange(6, dtype=np.float32), "file": np.eye(2), "t": 7},
         {"iteration": 12, "note": "d\u00e9j\u00e0 vu"})
    with np.load(path, allow_pickle=False) as npz:
        assert set(npz.files) == {"critic/params", "file", "t", "__format_version__", "__meta__"}
        assert int(npz["__format_version__"]) == checkpoint.FORMAT_VERSION
        assert json.loads(npz["__meta__"].tobytes().decode("utf-8"))["note"] == "d\u00e9j\u00e0 vu"
        np.testing.assert_array_equal(npz["critic/params"], np.arange(6, dtype=np.float32))
        assert npz["t"].shape == () and int(npz["t"]) == 7


def test_save_overwrites_and_uses_the_path_as_given(tmp_path):
    path = tmp_path / "latest"
    save(path, {"x": np.zeros(2)}, {"i": 1})
    save(path, {"x": np.ones(3)}, {"i": 2})
    arrays, meta = load(str(path))
    assert meta == {"i": 2} and arrays["x"].tolist() == [1.0, 1.0, 1.0]
    assert _listing(tmp_path) == ["latest"]


def test_save_refuses_bad_arguments(tmp_path):
    path = tmp_path / "c.npz"
    with pytest.raises(ValueError, match="reserved"):
        save(path, {"__meta__": np.zeros(1)}, {})
    with pytest.raises(TypeError, match="JSON-serialisable.*float"):
        save(path, {}, {"loss": np.float32(1.0)})
    with pytest.raises(TypeError, match="meta must be a dict"):
        save(path, {}, [1, 2])
    with pytest.raises(TypeError, match="pickle"):
        save(path, {"x": np.array([{"a": 1}], dtype=object)}, {})
    with pytest.raises(FileNotFoundError, match="does not exist; create it"):
        save(tmp_path / "no_such_dir" / "c.npz", {}, {})
    assert _listing(tmp_path) == []


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint file at .*check the path"):
        load(tmp_path / "nope.npz")


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.9, -1])
def test_truncated_file(tmp_path, keep):
    path = tmp_path / "c.npz"
    save(path, {"W": np.ones((64, 64)), "b": np.zeros(64)}, {"iteration": 3})
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)] if keep >= 0 else data[:-1])
    with pytest.raises(CheckpointError, match="truncated or corrupt.*earlier checkpoint"):
        load(path)


def test_corrupted_member(tmp_path):
    """A flipped byte inside an array: the zip's CRC check catches it."""
    path = tmp_path / "c.npz"
    save(path, {"W": np.ones(1000)}, {})
    data = bytearray(path.read_bytes())
    data[2000] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt"):
        load(path)


@pytest.mark.parametrize("content", [b"", os.urandom(1000), b"PK\x03\x04" + os.urandom(200),
                                     b"\x80\x04K\x05."])            # a pickle of the int 5
def test_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "c.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not an .npz"):
        load(path)


def _npz(path, **members):
    np.savez(path, **members)


def _meta(obj):
    return np.frombuffer(json.dumps(obj).encode(), dtype=np.uint8)


def test_object_array_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    _npz(path, __format_version__=np.array(1), __meta__=_meta({}),
         x=np.array([{"payload": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="object array 'x'.*pickle"):
        load(path)


def test_format_version_is_required_and_checked(tmp_path):
    path = tmp_path / "c.npz"
    _npz(path, x=np.zeros(2), __meta__=_meta({}))
    with pytest.raises(CheckpointError, match="no __format_version__.*not a tinywgan checkpoint"):
        load(path)
    _npz(path, x=np.zeros(2), __meta__=_meta({}), __format_version__=np.array(2))
    with pytest.raises(CheckpointError, match="newer tinywgan.*upgrade"):
        load(path)
    _npz(path, x=np.zeros(2), __meta__=_meta({}), __format_version__=np.array(0.5))
    with pytest.raises(CheckpointError, match="unknown format version"):
        load(path)


def test_meta_must_be_json(tmp_path):
    path = tmp_path / "c.npz"
    for raw in [np.frombuffer(b"{not json", np.uint8), np.frombuffer(b"\xff\xfe", np.uint8),
                _meta([1, 2]), np.zeros((2, 2), np.uint8)]:
        _npz(path, __format_version__=np.array(1), __meta__=raw)
        with pytest.raises(CheckpointError, match="meta is not valid JSON"):
            load(path)
    _npz(path, __format_version__=np.array(1))
    with pytest.raises(CheckpointError, match="no __meta__"):
        load(path)


def _crash_on_second_array(monkeypatch):
    """Make the write die after the first array is in the temporary file."""
    real, calls = np.lib.format.write_array, []

    def write_array(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("simulated crash in the middle of the write")
        return real(*args, **kwargs)
    monkeypatch.setattr(np.lib.format, "write_array", write_array)


def _crash_in_replace(monkeypatch):
    """Everything written and fsynced, then the process dies before the rename."""
    def replace(src, dst):
        raise OSError("simulated crash before the rename")
    monkeypatch.setattr(checkpoint.os, "replace", replace)


@pytest.mark.parametrize("crash", [_crash_on_second_array, _crash_in_replace])
def test_a_crash_keeps_the_previous_checkpoint(tmp_path, monkeypatch, crash):
    path = tmp_path / "c.npz"
    save(path, {"W": np.full((3, 3), 1.0), "b": np.zeros(3)}, {"iteration": 100})
    before = path.read_bytes()
    with monkeypatch.context() as m:
        crash(m)
        with pytest.raises((KeyboardInterrupt, OSError), match="simulated crash"):
            save(path, {"W": np.full((3, 3), 2.0), "b": np.ones(3)}, {"iteration": 200})
    assert _listing(tmp_path) == ["c.npz"], "the temporary file was left behind"
    assert path.read_bytes() == before
    arrays, meta = load(path)
    assert meta == {"iteration": 100} and arrays["W"][0, 0] == 1.0

    fresh = tmp_path / "first.npz"                  # a crash on the very first save: no file
    with monkeypatch.context() as m:
        crash(m)
        with pytest.raises((KeyboardInterrupt, OSError)):
            save(fresh, {"W": np.zeros(2), "b": np.zeros(2)}, {})
    assert _listing(tmp_path) == ["c.npz"]


def test_check_arrays_reports_everything_at_once():
    arrays = {"W0": np.zeros((2, 8)), "b0": np.zeros(8), "extra": np.zeros(1), "W1": np.zeros(3),
              "b1": np.zeros(3, np.int64)}
    expected = {"W0": (2, 16), "b0": np.zeros(8), "W1": (3,), "W2": (16, 1), "b2": (1,),
                "b1": np.zeros(3)}
    with pytest.raises(CheckpointError) as e:
        check_arrays(arrays, expected, where="critic checkpoint")
    msg = str(e.value)
    assert msg.startswith("critic checkpoint does not match") and "\n" not in msg
    assert "missing W2, b2" in msg and "unexpected extra" in msg
    assert "W0: expected shape (2, 16), found (2, 8)" in msg
    assert "b1: expected dtype float64, found int64" in msg
    assert "b0" not in msg and "W1" not in msg
    check_arrays({"W0": np.zeros((2, 8))}, {"W0": [2, 8]})     # a match raises nothing


def test_optimizer_state_through_a_checkpoint_resumes_bit_identically(tmp_path, device):
    xp = backend.array_module(device)
    rng = np.random.default_rng(0)
    grads = [xp.asarray(rng.standard_normal(30).astype(np.float32)) for _ in range(6)]
    params, opt = xp.asarray(rng.standard_normal(30).astype(np.float32)), Adam(lr=1e-2)
    for g in grads[:3]:
        opt.step(params, g)
    arrays = {"params": params}
    arrays.update({"opt/" + k: v for k, v in opt.state_dict().items()})
    save(tmp_path / "c.npz", arrays, {"iteration": 3})

    loaded, meta = load(tmp_path / "c.npz")
    check_arrays(loaded, {"params": (30,), "opt/t": (), "opt/m": (30,), "opt/v": (30,)})
    params2, opt2 = xp.asarray(loaded["params"]), Adam(lr=1e-2)
    opt2.load_state_dict({k[4:]: v for k, v in loaded.items() if k.startswith("opt/")})
    for g in grads[3:]:
        opt.step(params, g)
        opt2.step(params2, g)
    assert meta["iteration"] == 3 and opt2.t == 6
    np.testing.assert_array_equal(backend.to_numpy(params2), backend.to_numpy(params))


def _zip_with_header(path, shape, data_bytes):
    """A checkpoint whose member x.npy declares ``shape`` (float64) but holds ``data_bytes``."""
    import io
    import zipfile
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": shape})
    with zipfile.ZipFile(path, "w") as zf:
        for name, a in (("__format_version__", np.array(1)), ("__meta__", _meta({}))):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, a)
            zf.writestr(name + ".npy", buf.getvalue())
        zf.writestr("x.npy", header.getvalue() + data_bytes)


def test_a_header_declaring_a_huge_array_is_refused_before_allocating(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    _zip_with_header(path, (10 ** 12,), b"\0" * 8)

    read_array = np.lib.format.read_array

    def no_huge_read(f, **kwargs):
        assert f.name != "x.npy", "x.npy was read: its size was not checked first"
        return read_array(f, **kwargs)
    monkeypatch.setattr(np.lib.format, "read_array", no_huge_read)
    with pytest.raises(CheckpointError, match=r"declares shape \(1000000000000,\) float64 "
                                              r"\(8000000000000 bytes\) but holds 8 bytes"):
        load(path)
    _zip_with_header(path, (2,), b"\0" * 8)                   # too short by 8 bytes
    with pytest.raises(CheckpointError, match=r"\(16 bytes\) but holds 8"):
        load(path)
    monkeypatch.undo()
    _zip_with_header(path, (1,), b"\0" * 8)                   # exact: reads
    assert load(path)[0]["x"].tolist() == [0.0]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_get_the_mode_the_umask_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        save(tmp_path / "c.npz", {"x": np.zeros(2)}, {})
        checkpoint.atomic_write(tmp_path / "m.json", lambda f: f.write(b"{}"))
    finally:
        os.umask(old)
    for name in ("c.npz", "m.json"):
        assert os.stat(tmp_path / name).st_mode & 0o777 == 0o666 & ~umask


def test_save_replaces_a_symlink_instead_of_writing_through_it(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    (tmp_path / "run").mkdir()
    link = tmp_path / "run" / "c.npz"
    link.symlink_to(outside)
    save(link, {"x": np.zeros(2)}, {})
    assert outside.read_text() == "precious" and not link.is_symlink()
    assert load(link)[0]["x"].tolist() == [0.0, 0.0]


def test_temporary_names_are_recognised(tmp_path, monkeypatch):
    """What atomic_write leaves after a kill -9 is what is_temporary names, and nothing else."""
    seen = []

    def replace(src, dst):
        seen.append(os.path.basename(src))
        raise OSError("simulated crash before the rename")
    monkeypatch.setattr(checkpoint.os, "replace", replace)
    with pytest.raises(OSError):
        save(tmp_path / "checkpoint.npz", {"x": np.zeros(2)}, {})
    assert seen and checkpoint.is_temporary(seen[0]) and seen[0].startswith(".checkpoint.npz.")
    for name in ("checkpoint.npz", "history.jsonl", ".hidden", "notes.tmp", ".a.tmp",
                 ".my.notes.backup.tmp", ".checkpoint.npz.4242.0badf00d.tmp",
                 ".checkpoint.npz.tinywgan-4242-0BADF00D.tmp",
                 ".checkpoint.npz.tinywgan-4242-0badf00.tmp"):
        assert not checkpoint.is_temporary(name)
    assert checkpoint.is_temporary(seen[0], ("checkpoint.npz",))
    assert not checkpoint.is_temporary(seen[0], ("history.jsonl",))
