"""Untrusted files: plain data comes back, code in them never runs, errors name the file."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from facesynth_bench.errors import FsbenchError
from facesynth_bench.safe_loading import (
    NUMPY_ARRAY_GLOBALS,
    describe_error,
    load_npy,
    load_pickle,
    load_tensor_file,
    load_torch,
    open_npz,
    read_pickle_stream,
)

# what torch says when it refuses; none of it may reach our messages
UNSAFE_ADVICE = ("weights_only", "Re-running", "trust", "safe_globals")

# insightface's lfw.bin as Python 2 wrote it (protocol 2, str as SHORT_BINSTRING):
# ([b"abc", b"de"], [True, False])
PY2_BIN = b"\x80\x02]q\x00(U\x03abcU\x02deeq\x01]q\x02(\x88\x89e\x86q\x03."


class SystemCall:
    """A pickle whose loading would run a shell command creating `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _assert_no_unsafe_advice(message: str) -> None:
    assert not [advice for advice in UNSAFE_ADVICE if advice in message], message


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_verification_set_layout_reads_back_in_every_protocol(tmp_path, protocol) -> None:
    images = [b"\xff\xd8jpeg-1", b"\xff\xd8jpeg-2"]
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.asfortranarray(np.eye(2))]
    value = (images, [True, False], arrays, np.array(["ab", "c"]), np.float64(2.5), {"n": 3})
    path = tmp_path / "lfw.bin"
    path.write_bytes(pickle.dumps(value, protocol=protocol))
    back = load_pickle(path, "verification set")
    assert back[:2] == (images, [True, False])
    for got, want in zip(back[2], arrays, strict=True):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype
    assert back[3].tolist() == ["ab", "c"] and back[4] == 2.5 and back[5] == {"n": 3}


def test_python2_pickles_give_bytes() -> None:
    assert read_pickle_stream(io.BytesIO(PY2_BIN)) == ([b"abc", b"de"], [True, False])


def test_a_pickled_shell_command_is_refused_and_never_runs(tmp_path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.bin"
    path.write_bytes(pickle.dumps([b"image", SystemCall(marker)], protocol=2))
    pickle.loads(path.read_bytes())  # the control: a plain unpickler runs the command
    assert marker.exists()
    marker.unlink()
    with pytest.raises(FsbenchError, match=r"verification set .*evil\.bin: refused, .*system"):
        load_pickle(path, "verification set")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (np.array([1, "a"], dtype=object), "Python objects"),
        (np.zeros(2).view(np.recarray), "recarray"),
        (1 + 2j, "builtins.complex"),
        (Path("x"), "pathlib"),
    ],
)
def test_anything_but_plain_values_and_arrays_is_refused(tmp_path, value, reason) -> None:
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(value))
    with pytest.raises(FsbenchError, match=rf"x\.pkl: refused, .*{reason}"):
        load_pickle(path)


def test_damaged_and_missing_pickles_name_the_file(tmp_path) -> None:
    path = tmp_path / "cut.bin"
    path.write_bytes(pickle.dumps([b"a" * 100])[:20])
    with pytest.raises(FsbenchError, match=r"cut\.bin: not a readable pickle"):
        load_pickle(path)
    with pytest.raises(FsbenchError, match=r"absent\.bin: no such file"):
        load_pickle(tmp_path / "absent.bin")
    with pytest.raises(FsbenchError, match=r": is a folder, not a file"):
        load_pickle(tmp_path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_torch_files_with_code_are_refused_unrun_without_torchs_advice(tmp_path) -> None:
    marker = tmp_path / "ran"
    zipped, raw = tmp_path / "evil.pt", tmp_path / "raw.pt"
    torch.save({"w": torch.zeros(2), "x": SystemCall(marker)}, zipped)
    raw.write_bytes(pickle.dumps({"x": SystemCall(marker)}))
    for path in (zipped, raw):
        with pytest.raises(FsbenchError, match=rf"checkpoint .*{path.name}: refused") as info:
            load_torch(path, "checkpoint")
        _assert_no_unsafe_advice(str(info.value))
        assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not marker.exists()


def test_numpy_arrays_in_torch_files_need_the_explicit_allow_list(tmp_path) -> None:
    path = tmp_path / "contexts.npy"
    torch.save({"0": np.ones(3, np.float32), "1": np.zeros(3, np.float64)}, path)
    with pytest.raises(FsbenchError, match=r"contexts\.npy: refused.*_reconstruct") as info:
        load_torch(path)
    _assert_no_unsafe_advice(str(info.value))
    partial = NUMPY_ARRAY_GLOBALS[:4]  # without the dtype classes torch's message differs
    with pytest.raises(FsbenchError, match="Float32DType") as info:
        load_torch(path, allowed_globals=partial)
    _assert_no_unsafe_advice(str(info.value))
    back = load_torch(path, allowed_globals=NUMPY_ARRAY_GLOBALS)
    np.testing.assert_array_equal(back["0"], np.ones(3, np.float32))


def test_torch_files_load_where_asked(tmp_path) -> None:
    path = tmp_path / "w.pt"
    torch.save({"w": torch.arange(3.0)}, path)
    assert load_torch(path)["w"].device.type == "cpu"
    assert load_torch(path, map_location="meta")["w"].device.type == "meta"


def test_damaged_torch_and_safetensors_files_name_the_file(tmp_path) -> None:
    torch.save({"w": torch.ones(1000)}, tmp_path / "whole.pt")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "whole.pt").read_bytes()[:600])
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "junk.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{bad json")
    with pytest.raises(FsbenchError, match=r"weights .*cut\.pt: not a readable torch file"):
        load_tensor_file(tmp_path / "cut.pt", "weights")
    (tmp_path / "text.pt").write_text("not a checkpoint")
    for name in ("empty.pt", "text.pt"):
        with pytest.raises(FsbenchError, match=rf"{name}: not a torch file \(neither a zip"):
            load_tensor_file(tmp_path / name, "weights")
    with pytest.raises(FsbenchError, match=r"junk\.safetensors: not a readable safetensors"):
        load_tensor_file(tmp_path / "junk.safetensors")
    save_file({"w": torch.ones(2)}, str(tmp_path / "ok.safetensors"))
    assert torch.equal(load_tensor_file(tmp_path / "ok.safetensors")["w"], torch.ones(2))


def test_describe_error_drops_every_sentence_of_unsafe_advice() -> None:
    text = (
        "Weights only load failed. In PyTorch 2.6, we changed the default value of the "
        "`weights_only` argument in `torch.load` from `False` to `True`. Re-running "
        "`torch.load` with `weights_only` set to `False` will likely succeed, but it can "
        "result in arbitrary code execution. Do it only if you got the file from a trusted "
        "source.\n\tWeightsUnpickler error: Unsupported global: GLOBAL posix.system was not "
        "an allowed global by default. Please use `torch.serialization.add_safe_globals("
        "[system])` to allowlist this global if you trust this class/function.\n\nCheck the "
        "documentation of torch.load to learn more https://pytorch.org/docs."
    )
    described = describe_error(pickle.UnpicklingError(text))
    assert described == (
        "UnpicklingError: Unsupported global: GLOBAL posix.system was not an allowed global "
        "by default."
    )
    assert describe_error(EOFError()) == "EOFError"


def test_npy_files_are_read_without_unpickling(tmp_path) -> None:
    np.save(tmp_path / "ok.npy", np.arange(4.0))
    np.testing.assert_array_equal(load_npy(tmp_path / "ok.npy"), np.arange(4.0))
    np.save(tmp_path / "objects.npy", np.array([1, "a"], dtype=object))
    with pytest.raises(FsbenchError, match=r"scores .*objects\.npy: the array holds Python obj"):
        load_npy(tmp_path / "objects.npy", "scores")
    (tmp_path / "pickled.npy").write_bytes(pickle.dumps([1.0]))
    with pytest.raises(FsbenchError, match=r"pickled\.npy: not a \.npy array"):
        load_npy(tmp_path / "pickled.npy")
    np.savez(tmp_path / "many.npz", a=np.ones(2))
    with pytest.raises(FsbenchError, match=r"many\.npz: an \.npz archive"):
        load_npy(tmp_path / "many.npz")


def test_npz_errors_name_the_array_at_fault(tmp_path) -> None:
    path = tmp_path / "c.npz"
    ids = np.array(["a", 2], dtype=object)
    np.savez(path, contexts=np.ones((2, 3)), ids=ids)
    with open_npz(path, "context file") as archive:
        assert archive.names == ["contexts", "ids"] and "ids" in archive
        np.testing.assert_array_equal(archive["contexts"], np.ones((2, 3)))
        assert archive.get("labels") is None
        with pytest.raises(FsbenchError, match=r"c\.npz: array 'ids' holds Python objects"):
            archive["ids"]
        with pytest.raises(FsbenchError, match=r"c\.npz: no array 'labels'; has contexts, ids"):
            archive["labels"]
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with (
        pytest.raises(FsbenchError, match=r"junk\.npz: not a readable \.npz archive"),
        open_npz(tmp_path / "junk.npz"),
    ):
        pass


def test_the_module_does_not_import_torch() -> None:
    code = "import sys, facesynth_bench.safe_loading; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
