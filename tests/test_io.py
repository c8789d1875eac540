"""nn.save / nn.load: exact round trips of any state, atomic writes under faults and
concurrency, and loads that check every header before reading data (never unpickling)."""

from __future__ import annotations

import io
import math
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import nn
from nn import optim
from nn.io import CheckpointError

ROOT = Path(__file__).resolve().parents[1]


def same(a, b) -> bool:
    """Equal values with identical types all the way down (arrays: dtype, shape and bits)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


class Holder:
    """The smallest object nn.save/nn.load accept: state_dict() and load_state_dict()."""

    def __init__(self, state=None):
        self.state = state

    def state_dict(self):
        return self.state

    def load_state_dict(self, state):
        self.state = state


def model(seed: int = 0, sizes=(4, 6, 3)):
    return nn.MLP(list(sizes), seed=seed)


# ------------------------------------------------------------------ round trips
def test_model_file_is_a_plain_npz_with_one_member_per_key(tmp_path):
    m = model()
    path = nn.save(m, tmp_path / "m")
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == sorted(m.state_dict())
        for k, v in m.state_dict().items():
            assert data[k].tobytes() == v.tobytes()


def test_nested_state_round_trips_with_exact_types(tmp_path):
    state = OrderedDict([
        ("lr", 0.001), ("steps", 7), ("flag", True), ("none", None), ("name", "adam"), ("nan", float("nan")),
        ("betas", (0.9, 0.999)), ("f32", np.float32(0.1)), ("i64", np.int64(-3)), ("b", np.bool_(True)),
        ("arrays", [np.arange(6, dtype=np.float32).reshape(2, 3), np.array(3), np.zeros((0, 2)),
                    np.array([True, False]), np.asfortranarray(np.arange(6.0).reshape(2, 3))]),
        ("per_param", [{"step": np.array(3), "exp_avg": np.full(2, 0.5)}, {}]),
        ("int_keys", {0: "a", 1: {"deep": (1, [2, (3.5, None)])}}),
    ])
    path = nn.save(Holder(state), tmp_path / "state.npz")
    loaded = nn.load(Holder(), path).state
    assert same(loaded, state)
    assert type(loaded) is OrderedDict and type(loaded["int_keys"]) is dict


def test_optimizer_and_scheduler_round_trip(tmp_path):
    m = model()
    opt = optim.Adam(m.parameters(), lr=0.01, amsgrad=True)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    X = np.random.default_rng(0).standard_normal((8, 4))
    for _ in range(3):
        opt.zero_grad()
        (m(X) ** 2).mean().backward()
        opt.step()
        sched.step()
    nn.save(opt, tmp_path / "opt")
    nn.save(sched, tmp_path / "sched")
    fresh = optim.Adam(model(1).parameters(), lr=0.5, amsgrad=True)
    nn.load(fresh, tmp_path / "opt.npz")
    assert same(fresh.state_dict(), opt.state_dict())
    fresh_sched = optim.lr_scheduler.StepLR(fresh, step_size=2, gamma=0.5)
    nn.load(fresh_sched, tmp_path / "sched.npz")
    assert same(fresh_sched.state_dict(), sched.state_dict()) and fresh.lr == opt.lr


@pytest.mark.parametrize("bad, message", [
    ({"w": np.array([1 + 2j])}, "dtype complex128"),
    ({"w": np.array(["a"])}, "dtype <U1"),
    ({"w": np.array([object()], dtype=object)}, "pickled objects"),
    ({"w": [np.zeros(2, dtype="datetime64[s]")]}, "dtype datetime64"),
    ({"w": {1, 2}}, "is a set"),
    ({"w": object()}, "is a object"),
    ({"w": "x" * 10_001}, "10001 characters"),
    ({(1, 2): 1.0, "x": [1]}, "has the key (1, 2)"),
])
def test_save_refuses_what_it_cannot_store_as_data(tmp_path, bad, message):
    with pytest.raises((TypeError, ValueError), match=re_escape(message)):
        nn.save(Holder(bad), tmp_path / "bad.npz")
    assert list(tmp_path.iterdir()) == []  # refused before touching the disk


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


# ------------------------------------------------------------------ atomic saves
def test_a_save_that_fails_midway_leaves_the_old_file(tmp_path, monkeypatch):
    path = nn.save(model(0), tmp_path / "m.npz")
    before = path.read_bytes()

    def broken(f, members):
        f.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(nn.io, "_write_npz", broken)
    with pytest.raises(OSError, match="No space left"):
        nn.save(model(1), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # the temporary file is gone
    nn.load(model(5), path)


def run_python(code: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          **kw)


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs POSIX file-size limits")
def test_a_save_hitting_a_file_size_limit_leaves_the_old_file(tmp_path):
    path = nn.save(model(0), tmp_path / "m.npz")
    before = path.read_bytes()
    out = run_python(f"""
        import resource, signal, sys
        import nn
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # get EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))
        try:
            nn.save(nn.MLP([64, 256, 10], seed=1), {str(path)!r})   # about 90 KB
        except OSError as e:
            print("failed:", e.strerror)
            sys.exit(3)
        """)
    assert out.returncode == 3, out.stderr
    assert "too large" in out.stdout.lower()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    nn.load(model(5), path)


def test_concurrent_saves_from_processes_always_leave_one_complete_model(tmp_path):
    path = tmp_path / "shared.npz"
    nn.save(model(0, (16, 64, 8)), path)
    writers = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import nn
        m = nn.MLP([16, 64, 8], seed={seed})
        for _ in range(15):
            nn.save(m, {str(path)!r})
        """)], env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])})
        for seed in (1, 2, 3)]
    candidates = {seed: model(seed, (16, 64, 8)).state_dict() for seed in (0, 1, 2, 3)}
    loads = 0
    while any(w.poll() is None for w in writers) or loads == 0:
        state = nn.load(model(9, (16, 64, 8)), path).state_dict()   # never a partial file
        assert any(same(state, c) for c in candidates.values())
        loads += 1
    assert all(w.wait() == 0 for w in writers)
    final = nn.load(model(9, (16, 64, 8)), path).state_dict()
    assert any(same(final, candidates[s]) for s in (1, 2, 3))
    assert [p.name for p in tmp_path.iterdir()] == ["shared.npz"]


def test_a_killed_save_leaves_a_loadable_file(tmp_path):
    path = tmp_path / "m.npz"
    nn.save(nn.MLP([64, 512, 64], seed=0), path)
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import nn
        m = nn.MLP([64, 512, 64], seed=1)
        print("ready", flush=True)
        while True:
            nn.save(m, {str(path)!r})
        """)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])})
    assert writer.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    writer.kill()
    writer.wait()
    writer.stdout.close()
    nn.load(nn.MLP([64, 512, 64], seed=5), path)  # the old or the new model, complete


# ------------------------------------------------------------------ safe loads
def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=True)
    return buf.getvalue()


def raw_zip(path: Path, entries: list[tuple[str, int, bytes, int, int]]) -> None:
    """Write a zip by hand: (name, method 0/8, stored bytes, uncompressed size, crc) per member."""
    out, central = bytearray(), bytearray()
    for name, method, data, size, crc in entries:
        offset = len(out)
        encoded = name.encode()
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size,
                           len(encoded), 0) + encoded + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data),
                               size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                                 len(out), 0)
    path.write_bytes(bytes(out))


def stored(name: str, array: np.ndarray) -> tuple[str, int, bytes, int, int]:
    data = npy(array)
    return (f"{name}.npy", 0, data, len(data), zlib.crc32(data))


def zip_bomb(name: str, gigabytes: float = 1.6) -> tuple[str, int, bytes, int, int]:
    """A deflated .npy member declaring `gigabytes` of float64 zeros, about 1 KB per MiB on disk.

    A full flush makes every MiB of zeros compress to the same independent bytes, so the
    stream is built by repetition instead of compressing gigabytes."""
    mib = int(gigabytes * 1e9) >> 20
    n = (mib << 20) // 8
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
    head = header.getvalue()
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(1 << 20)
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    assert c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH) == block
    data = first + block * mib + c.flush(zlib.Z_FINISH)
    return (f"{name}.npy", 8, data, len(head) + (mib << 20), 0)


def test_load_names_missing_and_unexpected_members(tmp_path):
    state = model().state_dict()
    path = tmp_path / "m.npz"
    np.savez(path, **{k: v for k, v in state.items() if k != "2.bias"}, extra=np.zeros(1))
    with pytest.raises(CheckpointError, match=r"does not match the model's state_dict keys: missing '2\.bias'; "
                                              r"unexpected 'extra'"):
        nn.load(model(), path)


@pytest.mark.parametrize("dtype", ["complex128", "<U3", "datetime64[s]", "timedelta64[s]", "V8",
                                   [("a", "<f8"), ("b", "<i4")], "object"])
def test_load_refuses_non_numeric_dtypes(tmp_path, dtype):
    state = model().state_dict()
    state["0.bias"] = np.zeros(state["0.bias"].shape, dtype=dtype)
    path = tmp_path / "bad.npz"
    raw_zip(path, [stored(k, v) for k, v in state.items()])
    with pytest.raises(CheckpointError, match=r"'0\.bias' holds .* which are refused"):
        nn.load(model(), path)


def test_crafted_huge_member_is_refused_without_decompressing(tmp_path):
    state = model().state_dict()
    path = tmp_path / "bomb.npz"
    raw_zip(path, [stored(k, v) for k, v in state.items()] + [zip_bomb("payload")])
    assert path.stat().st_size < 2 << 20
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match="unexpected 'payload'"):
        nn.load(model(), path)
    # a member the model has, declaring 1.6 GB: refused from its header
    raw_zip(path, [stored(k, v) for k, v in state.items() if k != "0.weight"] + [zip_bomb("0.weight")])
    with pytest.raises(CheckpointError, match=r"'0\.weight' has shape \(\d{9},\) in .* but \(4, 6\)"):
        nn.load(model(), path)
    # a structured state where the object has no array yet: refused by its inflation
    raw_zip(path, [stored("__structure__", np.frombuffer(b'{"list":[{"array":"arr_0"}]}', np.uint8)),
                   zip_bomb("arr_0")])
    with pytest.raises(CheckpointError, match=r"'arr_0' would inflate from [\d,]+ to [\d,]{13} bytes"):
        nn.load(Holder([]), path)
    assert time.perf_counter() - start < 5.0  # decompressing 1.6 GB takes far longer


def test_damaged_files_raise_one_error_naming_the_file(tmp_path):
    path = nn.save(model(), tmp_path / "m.npz")
    data = path.read_bytes()
    cases = {"truncated": data[: len(data) // 2], "garbage": b"not a zip at all", "empty": b"",
             "flipped": data[:200] + bytes([data[200] ^ 0xFF]) + data[201:]}
    for name, content in cases.items():
        bad = tmp_path / f"{name}.npz"
        bad.write_bytes(content)
        with pytest.raises(CheckpointError, match=re_escape(str(bad))):
            nn.load(model(), bad)


def test_malformed_structures_are_refused(tmp_path):
    path = tmp_path / "s.npz"
    for text in [b'{"eval":"1"}', b'{"array":"arr_0"}', b'[1, 2', b'{"dict":[[[1],2]]}', b'{"list":' * 100 + b'1',
                 b'{"scalar":"O","value":1}', b'{"scalar":"<c16","value":1}']:
        raw_zip(path, [stored("__structure__", np.frombuffer(text, np.uint8))])
        with pytest.raises(CheckpointError, match=re_escape(str(path))):
            nn.load(Holder(), path)


def test_flat_file_into_structured_object_and_back_is_refused(tmp_path):
    opt = optim.SGD(model().parameters(), lr=0.1)
    model_file = nn.save(model(), tmp_path / "m.npz")
    with pytest.raises(CheckpointError, match="structured"):
        nn.load(opt, model_file)
    opt_file = nn.save(opt, tmp_path / "o.npz")
    with pytest.raises(CheckpointError, match="structured state"):
        nn.load(model(), opt_file)
