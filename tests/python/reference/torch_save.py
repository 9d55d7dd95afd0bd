"""torch.save's file layout written without torch, by CPython's own pickle module.

torch.save (torch/serialization.py, ``_save``) writes a stored zip whose entries sit under one
folder named after the file: ``data.pkl`` (the object, pickle protocol 2), ``data/<key>`` (each
storage's bytes), ``version`` and ``byteorder``. In the pickle a tensor is reduced to
``torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
OrderedDict())`` and a storage is a persistent id ``("storage", torch.FloatStorage, key, "cpu",
numel)``. Here CPython's ``pickle.Pickler`` emits those opcodes itself, with stand-ins for the two
torch names registered in ``sys.modules`` only while it pickles: an implementation independent of
our C++ writer (src/io/pytorch_writer.cpp), so reading its files checks our reader against the
pickler torch uses.
"""
from __future__ import annotations

import collections
import io
import pickle
import sys
import types
import zipfile
from pathlib import Path

import numpy as np

_STORAGE_NAMES = {np.dtype("<f4"): "FloatStorage", np.dtype("<f2"): "HalfStorage"}


class _Storage:
    def __init__(self, key: str, values: np.ndarray) -> None:
        self.key = key
        self.values = values


class _Tensor:
    def __init__(self, storage: _Storage, rebuild) -> None:
        self.storage = storage
        self.rebuild = rebuild

    def __reduce__(self):
        shape = self.storage.values.shape
        strides = tuple(s // self.storage.values.itemsize for s in self.storage.values.strides)
        return (self.rebuild, (self.storage, 0, tuple(shape), strides, False,
                               collections.OrderedDict()))


def _stand_ins() -> dict[str, types.ModuleType]:
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # never called: only its name is pickled
        raise AssertionError("stand-in")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    for name in _STORAGE_NAMES.values():
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    return {"torch": torch, "torch._utils": utils}


def torch_save(path: Path, state_dict: dict[str, np.ndarray]) -> None:
    """Writes `state_dict` (name -> little-endian float32/float16 array) as torch.save would."""
    modules = _stand_ins()
    saved = {name: sys.modules.get(name) for name in modules}
    storages = []

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _Storage):
                storage_type = getattr(modules["torch"], _STORAGE_NAMES[obj.values.dtype])
                return ("storage", storage_type, obj.key, "cpu", obj.values.size)
            return None

    data = {}
    for name, value in state_dict.items():
        storage = _Storage(str(len(storages)), np.ascontiguousarray(value))
        storages.append(storage)
        data[name] = _Tensor(storage, modules["torch._utils"]._rebuild_tensor_v2)
    buffer = io.BytesIO()
    try:
        sys.modules.update(modules)
        Pickler(buffer, protocol=2).dump(data)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    stem = path.stem
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{stem}/data.pkl", buffer.getvalue())
        archive.writestr(f"{stem}/byteorder", "little")
        for storage in storages:
            archive.writestr(f"{stem}/data/{storage.key}", storage.values.tobytes())
        archive.writestr(f"{stem}/version", "3\n")
