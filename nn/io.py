"""Save and load state (models, optimizers, schedulers) as ``.npz`` files: atomic writes,
checked reads, never pickle.

A file is a zip of ``.npy`` members. A model's flat ``state_dict`` (name → array) is
stored one member per name, as ``np.savez`` would. Any other state (nested dicts,
lists and tuples of arrays, numbers, bools, None and short strings, as optimizers
and schedulers return) stores its arrays as members ``arr_0, arr_1, ...`` and its
structure as JSON text in the uint8 member ``__structure__``: data, never code.

Saving writes a temporary file in the same folder, flushes and fsyncs it, then
renames it over the target (``os.replace``), so the target is always either the
old file or the complete new one. Loading reads each member's ``.npy`` header first
and checks names, shapes and dtypes before reading any data.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

STRUCTURE = "__structure__"
MAX_STRING = 10_000          # characters of one string in a state
MAX_STRUCTURE = 16 << 20     # bytes of the JSON structure
MAX_NESTING = 64             # levels of dicts/lists/tuples
MAX_INFLATION = 100          # a compressed member may not decompress to more than this many times its size
_KINDS = "biuf"              # bool, signed and unsigned integers, floats: the only dtypes read


class CheckpointError(ValueError):
    """A file that :func:`load` refuses: the message names the file and the reason."""


# ---------------------------------------------------------------------------- save
def save(obj: Any, path: str | Path) -> Path:
    """Write ``obj.state_dict()`` to an ``.npz`` file, atomically; returns the path.

    The suffix ``.npz`` is added if missing. ``obj`` is a model, an optimizer, a
    scheduler: anything with ``state_dict()``. If the write fails (a full disk, a
    file-size limit, an exception, a kill), the previous file at ``path`` is intact
    and the temporary file is removed (after a kill it may remain, never at ``path``).
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz")
    members = _members(obj.state_dict())
    if not path.parent.is_dir():
        raise FileNotFoundError(f"save: cannot write {path}: the folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, members)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(path.parent)
    return path


def _write_npz(f: IO[bytes], members: dict[str, np.ndarray]) -> None:
    np.savez(f, **members)  # type: ignore[arg-type]  # NumPy's stub types only allow_pickle


def _file_mode(path: Path) -> int:
    """The permissions the file would get from a plain open(): the old file's, or 0o666 less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _is_flat(state: Any) -> bool:
    return (isinstance(state, Mapping) and all(isinstance(k, str) for k in state)
            and all(isinstance(v, np.ndarray) for v in state.values()) and STRUCTURE not in state)


def _members(state: Any) -> dict[str, np.ndarray]:
    """The arrays to write: a flat name → array state as is, anything else as arrays plus JSON."""
    if _is_flat(state):
        members = {k: np.asarray(v) for k, v in state.items()}
        for key, value in members.items():
            _check_numeric(value.dtype, f"save: '{key}'")
        return members
    arrays: dict[str, np.ndarray] = {}
    structure = _encode(state, arrays, "state", 0)
    text = json.dumps(structure, allow_nan=True, separators=(",", ":")).encode()
    arrays[STRUCTURE] = np.frombuffer(text, dtype=np.uint8)
    return arrays


def _encode(value: Any, arrays: dict[str, np.ndarray], where: str, depth: int) -> Any:
    """JSON for a state value; arrays go to ``arrays`` and are referred to by member name."""
    if depth > MAX_NESTING:
        raise ValueError(f"save: {where} is nested more than {MAX_NESTING} levels deep")
    if value is None or isinstance(value, (bool, int, float)) and type(value) in (bool, int, float):
        return value
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise ValueError(f"save: the string at {where} has {len(value)} characters (at most {MAX_STRING})")
        return value
    if isinstance(value, np.ndarray):
        _check_numeric(value.dtype, f"save: {where}")
        name = f"arr_{len(arrays)}"
        arrays[name] = value
        return {"array": name}
    if isinstance(value, np.generic):
        _check_numeric(value.dtype, f"save: {where}")
        return {"scalar": value.dtype.str, "value": value.item()}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, arrays, f"{where}[{k}]", depth + 1) for k, v in enumerate(value)]
        return {"list" if type(value) is list else "tuple": items}
    if type(value) in (dict, OrderedDict):
        bad = [k for k in value if not (k is None or type(k) in (bool, int, float, str))]
        if bad:
            raise TypeError(f"save: {where} has the key {bad[0]!r}; keys may be str, int, float, bool or None")
        pairs = [[k, _encode(v, arrays, f"{where}[{k!r}]", depth + 1)] for k, v in value.items()]
        return {"dict" if type(value) is dict else "odict": pairs}
    raise TypeError(f"save: {where} is a {type(value).__name__}; a state may hold arrays, numbers, bools, None, "
                    f"strings and dicts/lists/tuples of them")


def _check_numeric(dtype: np.dtype, where: str, error: type[Exception] = TypeError) -> None:
    if dtype.kind not in _KINDS or dtype.fields is not None or dtype.subdtype is not None:
        what = "pickled objects" if dtype.kind == "O" else f"dtype {dtype}"
        raise error(f"{where} holds {what}, which are refused (only bool, integer and float arrays)")


# ---------------------------------------------------------------------------- load
def load(obj: Any, path: str | Path) -> Any:
    """Load a file written by :func:`save` into ``obj`` (``obj.load_state_dict``); returns ``obj``.

    Before any data is read, every member's ``.npy`` header is checked: the member
    names must be exactly the ones ``obj`` has (for a model: its ``state_dict`` keys;
    an error lists what is missing or unexpected), shapes must match, dtypes must be
    bool, integer or float (complex, strings, dates, structured and object arrays are
    refused; nothing is ever unpickled), and no member may inflate beyond its size
    (a compressed 1.6 GB member in a 1.5 MiB file is refused without decompressing it).
    A damaged or truncated file raises :class:`CheckpointError` naming the file.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = _member_infos(archive, path)
            if STRUCTURE in members:
                state = _read_structured(archive, members, obj.state_dict(), path)
            else:
                state = _read_flat(archive, members, obj.state_dict(), path)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as e:
        raise CheckpointError(f"load: {path} is not a complete .npz file written by nn.save "
                              f"(damaged or truncated: {type(e).__name__}: {e}); refused") from None
    obj.load_state_dict(state)
    return obj


def _member_infos(archive: zipfile.ZipFile, path: Path) -> dict[str, zipfile.ZipInfo]:
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        name = info.filename.removesuffix(".npy")
        if not info.filename.endswith(".npy") or name in infos:
            raise CheckpointError(f"load: {path} has the member {info.filename!r}, which nn.save never writes "
                                  f"(not an .npy array, or a duplicate name)")
        infos[name] = info
    return infos


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _check_names(found: set[str], wanted: set[str], path: Path, whose: str) -> None:
    missing, unexpected = sorted(wanted - found), sorted(found - wanted)
    if missing or unexpected:
        parts = ([f"missing {_names(missing)}"] if missing else []) + (
            [f"unexpected {_names(unexpected)}"] if unexpected else [])
        raise CheckpointError(f"load: {path} does not match {whose}: {'; '.join(parts)}")


def _read_flat(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], expected: Any,
               path: Path) -> dict[str, np.ndarray]:
    if not _is_flat(expected):
        raise CheckpointError(f"load: {path} holds a model's flat set of arrays, but the object's state_dict "
                              f"is structured (an optimizer or scheduler?)")
    # the members the model has come first, so a bad dtype or shape is named even when keys are missing too
    arrays = {k: _read_array(archive, members[k], path, np.shape(expected[k]), owner="model")
              for k in expected if k in members}
    _check_names(set(members), set(expected), path, "the model's state_dict keys")
    return arrays


def _read_structured(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], current: Any,
                     path: Path) -> Any:
    if _is_flat(current):
        raise CheckpointError(f"load: {path} holds a structured state (an optimizer's or a scheduler's?), but the "
                              f"object's state_dict is a model's flat set of arrays")
    raw = _read_array(archive, members[STRUCTURE], path, None, limit=MAX_STRUCTURE)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"load: {path}: the structure member is not uint8 text")
    try:
        structure = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"load: {path}: the structure member is not valid JSON ({type(e).__name__})") from None
    refs: dict[str, Any] = {}
    _collect(structure, current, refs, path, 0)
    _check_names(set(members) - {STRUCTURE}, set(refs), path, "the arrays its structure refers to")
    arrays = {name: _read_array(archive, members[name], path, shape) for name, shape in refs.items()}
    return _decode(structure, arrays)


def _collect(node: Any, current: Any, refs: dict[str, Any], path: Path, depth: int) -> None:
    """Validate the JSON structure and note each array member with the shape the object
    expects there (None where the object has no array at that place yet)."""
    if depth > MAX_NESTING:
        raise CheckpointError(f"load: {path}: the structure is nested more than {MAX_NESTING} levels deep")
    if node is None or isinstance(node, (bool, int, float)):
        return
    if isinstance(node, str):
        if len(node) > MAX_STRING:
            raise CheckpointError(f"load: {path}: a string of {len(node)} characters (at most {MAX_STRING})")
        return
    if not (isinstance(node, dict) and len(node) in (1, 2)):
        raise CheckpointError(f"load: {path}: malformed structure entry {str(node)[:60]!r}")
    (tag, body), *rest = node.items()
    if tag == "array" and not rest and isinstance(body, str):
        if body in refs:
            raise CheckpointError(f"load: {path}: the array member {body!r} is used twice")
        refs[body] = np.shape(current) if isinstance(current, np.ndarray) else None
    elif tag == "scalar" and rest and rest[0][0] == "value" and isinstance(body, str):
        _check_numeric(_dtype(body, path), f"load: {path}: a scalar", CheckpointError)
        _collect(rest[0][1], None, refs, path, depth + 1)
    elif tag in ("list", "tuple") and not rest and isinstance(body, list):
        here = list(current) if isinstance(current, (list, tuple)) else []
        for k, item in enumerate(body):
            _collect(item, here[k] if k < len(here) else None, refs, path, depth + 1)
    elif tag in ("dict", "odict") and not rest and isinstance(body, list):
        for pair in body:
            if not (isinstance(pair, list) and len(pair) == 2 and (pair[0] is None or
                                                                     isinstance(pair[0], (bool, int, float, str)))):
                raise CheckpointError(f"load: {path}: malformed dict entry {str(pair)[:60]!r}")
            mine = current.get(pair[0]) if isinstance(current, Mapping) else None
            _collect(pair[1], mine, refs, path, depth + 1)
    else:
        raise CheckpointError(f"load: {path}: malformed structure entry {str(node)[:60]!r}")


def _dtype(text: str, path: Path) -> np.dtype:
    try:
        return np.dtype(text)
    except TypeError:
        raise CheckpointError(f"load: {path}: unknown dtype {text[:30]!r}") from None


def _decode(node: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The state value a validated JSON node stands for."""
    if not isinstance(node, dict):
        return node
    (tag, body), *rest = node.items()
    if tag == "array":
        return arrays[body]
    if tag == "scalar":
        return np.dtype(body).type(rest[0][1])
    if tag in ("list", "tuple"):
        items = [_decode(item, arrays) for item in body]
        return items if tag == "list" else tuple(items)
    pairs = [(k, _decode(v, arrays)) for k, v in body]
    return dict(pairs) if tag == "dict" else OrderedDict(pairs)


def _read_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, shape: tuple[int, ...] | None,
                limit: int | None = None, owner: str = "object") -> np.ndarray:
    """One member: its header is checked (dtype, shape, size against the zip entry) before any data."""
    name = info.filename.removesuffix(".npy")
    with archive.open(info) as fp:
        try:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                found, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                found, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
            else:
                raise ValueError(f".npy format version {version} is not supported")
        except ValueError as e:
            raise CheckpointError(f"load: {path}: member '{name}' has no valid .npy header ({e})") from None
        _check_numeric(dtype, f"load: {path}: '{name}'", CheckpointError)
        if shape is not None and tuple(found) != tuple(shape):
            raise CheckpointError(f"load: '{name}' has shape {tuple(found)} in {path} but {tuple(shape)} in the "
                                  f"{owner}")
        nbytes = math.prod(found) * dtype.itemsize
        if info.file_size != fp.tell() + nbytes:
            raise CheckpointError(f"load: {path}: member '{name}' declares {nbytes:,} bytes of data but the archive "
                                  f"holds {info.file_size - fp.tell():,} (damaged or crafted)")
        if limit is not None and nbytes > limit:
            raise CheckpointError(f"load: {path}: member '{name}' is {nbytes:,} bytes (at most {limit:,})")
        if shape is None and info.file_size > MAX_INFLATION * max(info.compress_size, 1) + (1 << 20):
            raise CheckpointError(f"load: {path}: member '{name}' would inflate from {info.compress_size:,} to "
                                  f"{info.file_size:,} bytes; refused")
        data = fp.read(nbytes)
    if len(data) != nbytes:
        raise CheckpointError(f"load: {path}: member '{name}' is truncated")
    array: np.ndarray = np.frombuffer(data, dtype=dtype).reshape(found, order="F" if fortran else "C")
    copied: np.ndarray = array.copy()
    return copied


__all__ = ["CheckpointError", "load", "save"]
