"""Body-model files: safe SMPL pickles (no chumpy, nothing executed), npz, clear errors."""
from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from propose_backend.body import BodyModelError, demo_body, load_body_model, save_npz, save_plain_pkl


def _assert_same_body(a, b) -> None:
    for name in ("v_template", "faces", "shapedirs", "posedirs", "J_regressor", "weights", "parents"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=1e-7, err_msg=name)


def test_npz_round_trip(tmp_path: Path) -> None:
    body = demo_body()
    loaded = load_body_model(save_npz(body, tmp_path / "body.npz"))
    _assert_same_body(body, loaded)
    with np.load(tmp_path / "body.npz") as npz:  # smplx conventions
        assert npz["f"].dtype == np.uint32
        assert npz["kintree_table"][0, 0] == 4294967295


def _official_style_pickle(body, path: Path) -> None:
    """Write a pickle shaped like the official SMPL file: chumpy arrays + scipy csc regressor."""
    arrays = body.to_smplx_dict()
    arrays["kintree_table"] = np.stack([np.r_[4294967295, body.parents[1:]], np.arange(24)])
    _official_style_pickle_arrays(arrays, path)


def _official_style_pickle_arrays(arrays: dict, path: Path) -> None:
    """Write a body file's arrays as the official pickles hold them: chumpy arrays + scipy csc regressor.

    The classes are fakes registered under chumpy's and scipy's module names only while
    pickling, so the file references them exactly as the real one does and neither package
    is needed to read it back.
    """
    ch_mod = types.ModuleType("chumpy.ch")
    sp_mod = types.ModuleType("scipy.sparse.csc")

    class Ch:  # noqa: D401 - stand-in with the real class's pickled state layout
        def __init__(self, x):
            self.x = x

        def __getstate__(self):
            return {"x": self.x, "_dirty_vars": set()}

    class csc_matrix:  # noqa: N801
        def __init__(self, dense):
            cols = [np.flatnonzero(dense[:, j]) for j in range(dense.shape[1])]
            self.indices = np.concatenate(cols).astype(np.int32)
            self.data = np.concatenate([dense[c, j] for j, c in enumerate(cols)])
            self.indptr = np.concatenate([[0], np.cumsum([len(c) for c in cols])]).astype(np.int32)
            self._shape = dense.shape

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    csc_matrix.__module__, csc_matrix.__qualname__ = "scipy.sparse.csc", "csc_matrix"
    ch_mod.Ch, sp_mod.csc_matrix = Ch, csc_matrix
    saved = {k: sys.modules.get(k) for k in ("chumpy", "chumpy.ch", "scipy", "scipy.sparse", "scipy.sparse.csc")}
    try:
        sys.modules.update({"chumpy": types.ModuleType("chumpy"), "chumpy.ch": ch_mod,
                            "scipy": types.ModuleType("scipy"), "scipy.sparse": types.ModuleType("scipy.sparse"),
                            "scipy.sparse.csc": sp_mod})
        data = dict(arrays)
        data.update({
            "v_template": Ch(np.asarray(arrays["v_template"], np.float64)),
            "shapedirs": Ch(np.asarray(arrays["shapedirs"], np.float64)),
            "posedirs": np.asarray(arrays["posedirs"], np.float64),
            "J_regressor": csc_matrix(np.asarray(arrays["J_regressor"], np.float64)),
            "weights": Ch(np.asarray(arrays["weights"], np.float64)),
            "f": np.asarray(arrays["f"]).astype(np.uint32),
            "bs_type": "lrotmin", "bs_style": "lbs",
        })
        path.write_bytes(pickle.dumps(data, protocol=2))
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def test_official_style_pickle_loads_without_chumpy(tmp_path: Path) -> None:
    body = demo_body()
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    _official_style_pickle(body, path)
    raw = path.read_bytes()
    assert b"chumpy.ch" in raw and b"scipy.sparse.csc" in raw
    assert "chumpy" not in sys.modules
    _assert_same_body(body, load_body_model(path))


class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", ["os.system", "builtins.eval", "reconstructor"])
def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "pwned"
    if payload == "os.system":
        raw = pickle.dumps({"v_template": _Evil(marker)}, protocol=2)
    elif payload == "builtins.eval":
        raw = (b"\x80\x02cbuiltins\neval\nq\x00X\x1c\x00\x00\x00__import__('os').system('true')"
               b"q\x01\x85q\x02Rq\x03.")
    else:  # copy_reg._reconstructor asked to build a class that is not one of our stand-ins
        raw = b"\x80\x02ccopy_reg\n_reconstructor\ncsubprocess\nPopen\nc__builtin__\nobject\nN\x87R."
    path = tmp_path / "evil.pkl"
    path.write_bytes(raw)
    with pytest.raises(BodyModelError, match="refus"):
        load_body_model(path)
    assert not marker.exists()


def test_missing_empty_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(BodyModelError, match="not found.*model_files"):
        load_body_model(tmp_path / "nope.pkl")
    (tmp_path / "empty.pkl").write_bytes(b"")
    with pytest.raises(BodyModelError, match="empty"):
        load_body_model(tmp_path / "empty.pkl")
    (tmp_path / "junk.pkl").write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(BodyModelError):
        load_body_model(tmp_path / "junk.pkl")
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(BodyModelError, match="npz"):
        load_body_model(tmp_path / "bad.npz")


def test_wrong_model_is_named(tmp_path: Path) -> None:
    data = demo_body().to_smplx_dict()
    del data["posedirs"]
    np.savez(tmp_path / "partial.npz", **data)
    with pytest.raises(BodyModelError, match="missing posedirs"):
        load_body_model(tmp_path / "partial.npz")
    data = demo_body().to_smplx_dict()
    data["weights"] = np.zeros((6890, 52), np.float32)  # an SMPL-H-like skinning table
    np.savez(tmp_path / "wrong_weights.npz", **data)
    with pytest.raises(BodyModelError, match="weights"):
        load_body_model(tmp_path / "wrong_weights.npz")


def test_plain_pickle_loads_through_smplx(tmp_path: Path) -> None:
    """The demo body's .pkl is a valid SMPL file for smplx's own loader."""
    import smplx
    import torch

    path = save_plain_pkl(demo_body(), tmp_path / "SMPL_NEUTRAL.pkl")
    model = smplx.SMPL(model_path=str(path))
    assert model.get_num_verts() == 6890 and model.faces.shape == (13776, 3)
    out = model(betas=torch.zeros(1, 10))
    np.testing.assert_allclose(out.vertices[0].detach().numpy(), demo_body().v_template, atol=1e-6)
