#!/usr/bin/env python3
"""Writes the weight files thaw's I/O tests read, with Debian's PyTorch 1.13 as the writer.

Good files: state dicts saved by torch.save in the zip and the legacy format (float32, float16,
bfloat16, int64, transposed and sliced views, two tensors sharing a storage, a nested checkpoint
dict), described in expected.json by PyTorch itself; older forms (_rebuild_tensor v1, nn.Parameters,
legacy storage views), made by hand from numpy arrays that old_formats.json holds and torch.load
confirms; a safetensors file written here by hand from the format's specification. Bad files:
pickles that call os.system, eval or Popen, REDUCE on a storage class, absurd lengths, deep
nesting, a list that contains itself, truncated and CRC-damaged zips, short storages,
out-of-bounds views, big-endian and tar files, and broken safetensors headers.
Usage: make_io_files.py OUT_DIR [FIXTURE_DIR...] (fixtures also seed the fuzzers)
"""
import collections
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile

import numpy as np
import torch


def good_state_dict():
    g = torch.Generator().manual_seed(2020)
    base = torch.randn(4, 6, generator=g)
    sd = collections.OrderedDict()
    sd["features.0.weight"] = torch.randn(2, 3, 3, 3, generator=g)
    sd["features.0.bias"] = torch.randn(2, generator=g)
    sd["f16"] = torch.randn(5, generator=g).half()
    sd["bf16"] = torch.randn(5, generator=g).bfloat16()
    sd["i64"] = torch.arange(-3, 3, dtype=torch.int64)
    sd["transposed_view"] = base.t()
    sd["slice_view"] = base[1:3, 2:5]
    sd["shares_storage"] = base
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 4)
    return sd


def describe(sd, prefix=""):
    out = {}
    for key, t in sd.items():
        out[prefix + key] = {"dtype": str(t.dtype), "shape": list(t.shape),
                             "values": t.float().flatten().tolist() if t.dtype != torch.int64
                             else t.flatten().tolist()}
    return out


class FakeStorage:
    """A storage in a hand-made pickle: persistent_id turns it into torch's 5-tuple (zip), or the
    legacy 6-tuple whose last item is None or `view`, (view key, offset, size) into storage `key`."""

    def __init__(self, key, numel, cls="FloatStorage", view=None):
        self.key, self.numel, self.cls, self.view = key, numel, cls, view


class FakeTensor:
    """_rebuild_tensor_v2, or with v1=True the _rebuild_tensor of files before PyTorch 0.4
    (no requires_grad, no hooks)."""

    def __init__(self, storage, offset, size, stride, v1=False):
        self.v1 = v1
        self.args = (storage, offset, tuple(size), tuple(stride))
        if not v1:
            self.args += (False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor if self.v1 else torch._utils._rebuild_tensor_v2, self.args)


class Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def pickled(obj, legacy=False):
    buf = io.BytesIO()
    p = pickle_module.Pickler(buf, protocol=2, fix_imports=False)
    def persistent_id(o):
        if not isinstance(o, FakeStorage):
            return None
        pid = ("storage", getattr(torch, o.cls), o.key, "cpu", o.numel)
        return pid + (o.view,) if legacy else pid

    p.persistent_id = persistent_id
    p.dump(obj)
    return buf.getvalue()


import pickle as pickle_module  # noqa: E402  (used by pickled())


def torch_zip(path, pkl, storages, prefix="archive", byteorder=b"little"):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{prefix}/data.pkl", pkl)
        z.writestr(f"{prefix}/byteorder", byteorder)
        for key, data in storages.items():
            z.writestr(f"{prefix}/data/{key}", data)
        z.writestr(f"{prefix}/version", b"3\n")


def legacy_stream(path, object_pickle, storages=None):
    """storages: key -> numpy array, written after the key list as an 8-byte count and the elements."""
    storages = storages or {}
    with open(path, "wb") as f:
        f.write(pickle_module.dumps(0x1950a86a20f9469cfc6c, protocol=2))
        f.write(pickle_module.dumps(1001, protocol=2))
        f.write(pickle_module.dumps({"protocol_version": 1001, "little_endian": True,
                                     "type_sizes": {"short": 2, "int": 4, "long": 8}}, protocol=2))
        f.write(object_pickle)
        f.write(pickle_module.dumps(list(storages), protocol=2))
        for array in storages.values():
            f.write(struct.pack("<q", array.size) + array.tobytes())


def write_safetensors(path, tensors, metadata=None, mutate=None):
    """tensors: name -> (dtype string, numpy array of the matching dtype)."""
    header, blobs, offset = {}, [], 0
    for name, (dtype, array) in tensors.items():
        data = array.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    if mutate:
        mutate(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


TORCH_DTYPE_NAMES = {np.dtype(np.float32): "torch.float32", np.dtype(np.float16): "torch.float16",
                     np.dtype(np.int64): "torch.int64"}


def strided(storage, offset, size, stride):
    """What a tensor (offset, size, stride) over `storage` holds, by numpy's own striding."""
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size,
                                           strides=[s * storage.itemsize for s in stride])
    return view.copy()


def check_torch_loads(path, arrays, parameters=()):
    """torch.load reads the file as exactly `arrays`, the keys in `parameters` as nn.Parameters."""
    loaded = torch.load(path)
    assert sorted(loaded) == sorted(arrays), (path, sorted(loaded))
    for key, array in arrays.items():
        assert torch.equal(loaded[key], torch.from_numpy(array)), (path, key, loaded[key], array)
        assert isinstance(loaded[key], torch.nn.Parameter) == (key in parameters), (path, key)


def write_old_formats(out):
    """Forms of older torch.save files that 1.13 no longer writes for a state dict, made by hand
    and proven readable by torch.load: _rebuild_tensor (v1) in a zip, nn.Parameters
    (_rebuild_parameter around _rebuild_tensor_v2), and a legacy stream whose tensors share a
    storage at different offsets and strides, some through storage views (view_metadata).
    Returns file -> the numpy arrays it holds, chosen here: the oracle for thaw."""
    rng = np.random.default_rng(1913)
    expected = {}

    floats = rng.standard_normal(24).astype(np.float32)
    halves = rng.standard_normal(16).astype(np.float16)
    longs = rng.integers(-1000, 1000, 6).astype(np.int64)
    f32, f16, i64 = FakeStorage("0", 24), FakeStorage("1", 16, "HalfStorage"), FakeStorage("2", 6, "LongStorage")
    v1 = {"w.offset": (f32, 5, (2, 3), (3, 1)), "w.strided": (f32, 2, (3, 2), (1, 6)),
          "h.strided": (f16, 3, (4,), (2,)), "n.offset": (i64, 1, (3,), (1,))}
    storage_arrays = {f32: floats, f16: halves, i64: longs}
    torch_zip(os.path.join(out, "v1_rebuild_zip.pth"),
              pickled({k: FakeTensor(*args, v1=True) for k, args in v1.items()}),
              {s.key: a.tobytes() for s, a in storage_arrays.items()})
    expected["v1_rebuild_zip.pth"] = {k: strided(storage_arrays[s], *rest) for k, (s, *rest) in v1.items()}

    base = rng.standard_normal((4, 6)).astype(np.float32)
    params = {"fc.weight": rng.standard_normal((3, 4)).astype(np.float32),
              "fc.bias": rng.standard_normal(3).astype(np.float32),
              "fc.half": rng.standard_normal(5).astype(np.float16),
              "fc.sliced": base[1:3, 2:5].copy()}
    as_parameters = {k: torch.nn.Parameter(torch.from_numpy(a), requires_grad=k != "fc.bias")
                     for k, a in params.items() if k != "fc.sliced"}
    as_parameters["fc.sliced"] = torch.nn.Parameter(torch.from_numpy(base)[1:3, 2:5])  # a view into base
    buffer = rng.standard_normal(4).astype(np.float32)  # a plain tensor beside them, as BatchNorm's running_mean
    for name, zip_format in (("parameters_zip.pth", True), ("parameters_legacy.pth", False)):
        torch.save({**as_parameters, "bn.running_mean": torch.from_numpy(buffer)}, os.path.join(out, name),
                   _use_new_zipfile_serialization=zip_format)
        expected[name] = {**params, "bn.running_mean": buffer}

    root = rng.standard_normal(30).astype(np.float32)
    half_root = rng.standard_normal(12).astype(np.float16)
    whole = FakeStorage("root", 30)
    view = FakeStorage("root", 30, view=("view1", 12, 10))  # root[12:22]
    half_view = FakeStorage("hroot", 12, "HalfStorage", view=("hview", 3, 5))  # hroot[3:8]
    reads = {whole: root, view: root[12:22], half_view: half_root[3:8]}  # what each storage holds
    legacy = {"a.offset": (whole, 4, (2, 3), (3, 1)),
              "b.strided": (whole, 11, (3, 2), (1, 4)),
              "c.in_view": (view, 2, (2, 4), (4, 1)),
              "d.in_view_strided_v1": (view, 1, (2, 2), (1, 3), True),
              "e.half_in_view": (half_view, 1, (4,), (1,))}
    legacy_stream(os.path.join(out, "legacy_views.pth"),
                  pickled({k: FakeTensor(*args) for k, args in legacy.items()}, legacy=True),
                  {"root": root, "hroot": half_root})
    expected["legacy_views.pth"] = {k: strided(reads[s], *args[:3]) for k, (s, *args) in legacy.items()}

    for name, arrays in expected.items():
        parameters = as_parameters if name.startswith("parameters") else ()
        check_torch_loads(os.path.join(out, name), arrays, parameters)
    for name in ("parameters_zip.pth", "parameters_legacy.pth"):  # the branch these files exist for
        assert b"_rebuild_parameter" in open(os.path.join(out, name), "rb").read(), name
    with open(os.path.join(out, "old_formats.json"), "w") as f:
        json.dump({name: {k: {"dtype": TORCH_DTYPE_NAMES[a.dtype], "shape": list(a.shape),
                              "values": a.flatten().tolist()} for k, a in arrays.items()}
                   for name, arrays in expected.items()}, f)


def write_fuzz_seeds(out, extra_dirs):
    """Seeds for the fuzzers: the files above (and in extra_dirs), and the pickles inside the zips."""
    seeds = {name: os.path.join(out, "seeds", name) for name in ("unpickler", "torch", "safetensors")}
    for folder in seeds.values():
        os.makedirs(folder, exist_ok=True)
    files = [os.path.join(d, n) for d in [out] + extra_dirs for n in sorted(os.listdir(d))]
    for path in files:
        name = os.path.basename(path)
        if name.endswith(".safetensors"):
            shutil.copy(path, seeds["safetensors"])
        elif name.endswith(".pth"):
            shutil.copy(path, seeds["torch"])
            if zipfile.is_zipfile(path):
                try:
                    with zipfile.ZipFile(path) as z:
                        pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
                        open(os.path.join(seeds["unpickler"], name + ".pkl"), "wb").write(z.read(pkl))
                except (zipfile.BadZipFile, StopIteration):
                    pass


def main(out, fixture_dirs):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(2020)
    sd = good_state_dict()
    torch.save(sd, os.path.join(out, "good_zip.pth"))
    torch.save(sd, os.path.join(out, "good_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({"epoch": 7, "name": "run-1", "model": sd}, os.path.join(out, "checkpoint.pth"))
    expected = describe(sd)
    expected.update(describe(sd, "model."))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)

    # Code execution: the classic payloads, in both containers.
    for name, fn, arg in (("os_system", os.system, "touch pwned"), ("builtins_eval", eval, "1"),
                          ("subprocess_popen", subprocess.Popen, "true")):
        payload = pickled({"w": Evil(fn, arg)})
        torch_zip(os.path.join(out, f"evil_{name}.pth"), payload, {})
        legacy_stream(os.path.join(out, f"evil_{name}_legacy.pth"), payload)
    # An allowed global used as a callable.
    torch_zip(os.path.join(out, "reduce_storage.pth"),
              b"\x80\x02}X\x01\x00\x00\x00wctorch\nFloatStorage\n)Rs.", {})
    # Lengths and shapes that would exhaust memory or the stack.
    torch_zip(os.path.join(out, "absurd_length.pth"), b"\x80\x02X\xf0\xff\xff\xffabc", {})
    torch_zip(os.path.join(out, "deep_nesting.pth"), b"\x80\x02)" + b"\x85" * 100000 + b".", {})
    torch_zip(os.path.join(out, "self_append.pth"), b"\x80\x02]q\x00h\x00a.", {})
    torch_zip(os.path.join(out, "memo_bomb.pth"), b"\x80\x02Nr\xff\xff\xff\x7f.", {})
    # Tensors that reach outside their storage.
    floats = np.arange(4, dtype=np.float32).tobytes()
    torch_zip(os.path.join(out, "short_storage.pth"),
              pickled({"w": FakeTensor(FakeStorage("0", 100), 0, [10, 10], [10, 1])}), {"0": floats})
    torch_zip(os.path.join(out, "view_out_of_bounds.pth"),
              pickled({"w": FakeTensor(FakeStorage("0", 4), 2, [2, 2], [2, 1])}), {"0": floats})
    torch_zip(os.path.join(out, "huge_stride.pth"),
              pickled({"w": FakeTensor(FakeStorage("0", 4), 0, [2, 2], [2 ** 62, 1])}), {"0": floats})
    torch_zip(os.path.join(out, "missing_storage.pth"),
              pickled({"w": FakeTensor(FakeStorage("7", 4), 0, [4], [1])}), {"0": floats})
    torch_zip(os.path.join(out, "big_endian.pth"),
              pickled({"w": FakeTensor(FakeStorage("0", 4), 0, [4], [1])}), {"0": floats}, byteorder=b"big")
    torch_zip(os.path.join(out, "top_folder_not_archive.pth"),
              pickled({"w": FakeTensor(FakeStorage("0", 4), 0, [4], [1])}), {"0": floats}, prefix="my_weights")
    torch.save({"w": torch.zeros(3, dtype=torch.float64)}, os.path.join(out, "float64.pth"))
    # Zip64 extra fields on every entry (what archives over 4 GiB carry), from Python's zipfile.
    with zipfile.ZipFile(os.path.join(out, "zip64.pth"), "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        for name, data in (("zip64/data.pkl", pickled({"w": FakeTensor(FakeStorage("0", 4), 0, [2, 2], [2, 1])})),
                           ("zip64/data/0", floats)):
            with z.open(name, "w", force_zip64=True) as entry:
                entry.write(data)

    # Damaged containers.
    blob = open(os.path.join(out, "good_zip.pth"), "rb").read()
    open(os.path.join(out, "truncated.pth"), "wb").write(blob[: len(blob) // 2])
    with zipfile.ZipFile(os.path.join(out, "good_zip.pth")) as z:
        info = next(i for i in z.infolist() if i.filename.endswith("/data/0"))
    local = info.header_offset
    name_len, extra_len = struct.unpack("<HH", blob[local + 26: local + 30])
    data_at = local + 30 + name_len + extra_len
    damaged = bytearray(blob)
    damaged[data_at] ^= 0xFF
    open(os.path.join(out, "bad_crc.pth"), "wb").write(bytes(damaged))
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        data = b"storages"
        member = tarfile.TarInfo("storages")
        member.size = len(data)
        t.addfile(member, io.BytesIO(data))
    open(os.path.join(out, "tar_format.pth"), "wb").write(tar.getvalue())
    open(os.path.join(out, "not_torch.pth"), "wb").write(b"hello, these are not weights\n")

    # safetensors: a good file by the specification, then broken ones.
    rng = np.random.default_rng(2020)
    good = {"a.weight": ("F32", rng.standard_normal((3, 4)).astype(np.float32)),
            "b.half": ("F16", rng.standard_normal(5).astype(np.float16)),
            "c.count": ("I64", np.array([-2, 0, 7], dtype=np.int64)),
            "d.scalar": ("F32", np.array(1.25, dtype=np.float32)),
            "e.empty": ("F32", np.zeros((0, 3), dtype=np.float32))}
    bf16 = rng.standard_normal(4).astype(np.float32)
    bf16_bits = (bf16.view(np.uint32) >> 16).astype(np.uint16)  # truncation is a valid bfloat16
    good["f.bf16"] = ("BF16", bf16_bits)
    write_safetensors(os.path.join(out, "python_written.safetensors"), good, {"format": "pt", "epoch": "3"})
    described = {k: {"shape": list(a.shape), "values": (a.astype(np.float64).flatten().tolist() if d != "BF16"
                 else (a.astype(np.uint32) << 16).view(np.float32).astype(np.float64).tolist())}
                 for k, (d, a) in good.items()}
    with open(os.path.join(out, "python_written.json"), "w") as f:
        json.dump(described, f)

    small = {"a": ("F32", np.ones(4, np.float32)), "b": ("F32", np.ones(2, np.float32))}
    write_safetensors(os.path.join(out, "st_overlap.safetensors"), small,
                      mutate=lambda h: h["b"].__setitem__("data_offsets", [8, 16]))
    write_safetensors(os.path.join(out, "st_hole.safetensors"), {"a": small["a"]},
                      mutate=lambda h: (h["a"].__setitem__("data_offsets", [0, 12]),
                                        h["a"].__setitem__("shape", [3])))
    write_safetensors(os.path.join(out, "st_wrong_size.safetensors"), small,
                      mutate=lambda h: h["a"].__setitem__("shape", [5]))
    write_safetensors(os.path.join(out, "st_bad_dtype.safetensors"), small,
                      mutate=lambda h: h["a"].__setitem__("dtype", "F64"))
    with open(os.path.join(out, "st_header_too_long.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 1 << 20) + b'{"a": 1}')
    with open(os.path.join(out, "st_header_huge.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 1 << 40) + b"{}")
    with open(os.path.join(out, "st_not_json.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 8) + b"{nojson}")
    with open(os.path.join(out, "st_duplicate.safetensors"), "wb") as f:
        text = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
        text += b" " * (-len(text) % 8)
        f.write(struct.pack("<Q", len(text)) + text + b"\0\0\0\0")
    write_old_formats(out)
    write_fuzz_seeds(out, fixture_dirs)
    # Every float16 bit pattern, widened by numpy: the oracle for thaw's half_to_float.
    np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32).tofile(
        os.path.join(out, "float16_all.f32"))
    print(f"wrote thaw I/O test files with torch {torch.__version__} to {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
