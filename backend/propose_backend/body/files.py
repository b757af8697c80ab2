"""Reading and writing SMPL / SMPL-H / SMPL-X body-model files without chumpy and without trusting pickles.

The official SMPL `.pkl` files are Python-2 pickles whose arrays are chumpy objects and whose
joint regressor is a scipy sparse matrix. chumpy does not import on Python 3.11 / numpy >= 1.24,
and a pickle can run arbitrary code, so we unpickle with an allow-list: numpy's own array
reconstruction, stand-ins for chumpy arrays and scipy sparse matrices, and nothing else.
smplx-style `.npz` files (dense regressor, uint32 faces) load with `allow_pickle=False`.
SMPL-H and SMPL-X files (52 / 55 joints) become the same 24-joint body plus finger arrays
(body/smplh.py).
"""
from __future__ import annotations

import io
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..skeleton import EXTRA_VERTEX_IDS, NUM_RIG_JOINTS, NUM_SMPL_JOINTS, SMPL_PARENTS
from . import smplh


class BodyModelError(RuntimeError):
    """A body-model file is missing, unreadable, unsafe or not an SMPL / SMPL-H / SMPL-X model."""


@dataclass(frozen=True)
class BodyModelData:
    """The arrays of an SMPL-format body model, as plain float32/int64 numpy (24 joints; an SMPL-H /
    SMPL-X file adds its 30 finger joints' regressor and skinning over the rig's 54 joints)."""

    v_template: np.ndarray  # (V, 3) rest vertices, metres, y up
    faces: np.ndarray  # (F, 3) int64
    shapedirs: np.ndarray  # (V, 3, 10) shape blend shapes
    posedirs: np.ndarray  # (V, 3, 207) pose blend shapes
    J_regressor: np.ndarray  # (24, V) dense
    weights: np.ndarray  # (V, 24) linear-blend-skinning weights
    parents: np.ndarray  # (24,) int64, root = -1
    # vertex ids of the 11 extra surface points (skeleton.EXTRA_POINT_NAMES order); SMPL's by default
    extra_vertex_ids: tuple[int, ...] = EXTRA_VERTEX_IDS
    # the Anny phenotype this body was made for (anny_source.PHENOTYPE_LABELS), None for SMPL files
    phenotype: np.ndarray | None = None
    kind: str = "smpl"  # smpl, smplh or smplx (the file's layout; Anny and the demo body are "smpl")
    finger_regressor: np.ndarray | None = None  # (30, V) SMPL-H finger joints (skeleton.FINGER_JOINT_NAMES)
    rig_weights: np.ndarray | None = None  # (V, 54) skinning over skeleton.RIG_JOINT_NAMES

    @property
    def num_vertices(self) -> int:
        return int(self.v_template.shape[0])

    def validate(self, source: str) -> "BodyModelData":
        """Check shapes so a wrong file fails here with a readable message, not deep in LBS."""
        V = self.num_vertices
        expected = {
            "v_template": (V, 3), "shapedirs": (V, 3, None), "posedirs": (V, 3, 207),
            "J_regressor": (NUM_SMPL_JOINTS, V), "weights": (V, NUM_SMPL_JOINTS), "faces": (None, 3),
        }
        for name, shape in expected.items():
            actual = getattr(self, name).shape
            if len(actual) != len(shape) or any(e is not None and e != a for e, a in zip(shape, actual)):
                raise BodyModelError(
                    f"{source}: '{name}' has shape {actual}, expected {shape} (None = any). Is this an "
                    "SMPL / SMPL-H / SMPL-X body model file? See model_files/README.md.")
        if self.shapedirs.shape[2] < 10:
            raise BodyModelError(f"{source}: only {self.shapedirs.shape[2]} shape components; need 10.")
        if tuple(int(p) for p in self.parents) != SMPL_PARENTS:
            raise BodyModelError(f"{source}: kinematic tree {self.parents.tolist()} is not SMPL's.")
        if V != smplh.VERTICES[self.kind]:
            raise BodyModelError(f"{source}: {V} vertices; {smplh.LABELS[self.kind]} has {smplh.VERTICES[self.kind]}.")
        if self.kind != "smpl":
            if self.finger_regressor is None or self.finger_regressor.shape != (30, V) \
                    or self.rig_weights is None or self.rig_weights.shape != (V, NUM_RIG_JOINTS):
                raise BodyModelError(f"{source}: the finger joints' regressor or skinning is missing.")
        return self

    def to_smplx_dict(self) -> dict[str, np.ndarray]:
        """Arrays under the key names SMPL files (and smplx) use."""
        kintree = np.stack([self.parents, np.arange(NUM_SMPL_JOINTS)]).astype(np.int64)
        kintree[0, 0] = 4294967295  # how the official files store "no parent"
        return {
            "v_template": self.v_template, "f": self.faces.astype(np.uint32),
            "shapedirs": self.shapedirs, "posedirs": self.posedirs,
            "J_regressor": self.J_regressor, "weights": self.weights, "kintree_table": kintree,
        }


# --- safe unpickling -------------------------------------------------------------------------

class _Opaque:
    """Stand-in for an allowed foreign class (chumpy array, scipy sparse matrix): keeps its state."""

    kind = "opaque"

    def __setstate__(self, state: object) -> None:
        self.state = state


class _ChumpyArray(_Opaque):
    kind = "chumpy"


class _SparseMatrix(_Opaque):
    kind = "sparse"
    layout = "csc"


class _SparseCSR(_SparseMatrix):
    layout = "csr"


def _reconstruct_object(cls: type, base: type, state: object) -> object:
    """What `copy_reg._reconstructor` does, restricted to our stand-in classes."""
    if not (isinstance(cls, type) and issubclass(cls, _Opaque)) or base is not object:
        raise pickle.UnpicklingError(f"refusing to reconstruct {cls!r}")
    return cls.__new__(cls)


# numpy 2 moved numpy.core to numpy._core (the old name still imports, with a warning); pickles
# written by either version name either module.
NUMPY_MULTIARRAY = np.core.multiarray if np.__version__.startswith("1.") else np._core.multiarray
_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): NUMPY_MULTIARRAY._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): NUMPY_MULTIARRAY._reconstruct,
    ("numpy.core.multiarray", "scalar"): NUMPY_MULTIARRAY.scalar,
    ("numpy._core.multiarray", "scalar"): NUMPY_MULTIARRAY.scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


# plain containers that chumpy's pickled state uses; none of them can run code
_SAFE_BUILTINS = {"object": object, "set": set, "frozenset": frozenset}


class _SafeUnpickler(pickle.Unpickler):
    """Allow-list unpickler: numpy arrays, chumpy/scipy stand-ins, plain containers."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in _NUMPY_GLOBALS:
            return _NUMPY_GLOBALS[(module, name)]
        if (module, name) == ("_codecs", "encode"):  # protocol-2 bytes from Python 3 writers
            import codecs
            return codecs.encode
        if module in ("copy_reg", "copyreg") and name == "_reconstructor":
            return _reconstruct_object
        if module in ("__builtin__", "builtins") and name in _SAFE_BUILTINS:
            return _SAFE_BUILTINS[name]
        if module.startswith("chumpy"):
            return _ChumpyArray
        if module.startswith("scipy.sparse"):
            if name.startswith("csr"):
                return _SparseCSR
            if name.startswith("csc"):
                return _SparseMatrix
        raise pickle.UnpicklingError(
            f"the file asks to load '{module}.{name}', which an SMPL model file never needs; "
            "refusing to continue (the file may be malicious or not a body model)")


def _plain(value: object) -> object:
    """Turn stand-ins into numpy arrays, recursively through dicts and lists."""
    if isinstance(value, _ChumpyArray):
        state = value.state
        if isinstance(state, dict) and "x" in state:
            return np.asarray(state["x"])
        raise BodyModelError("unsupported chumpy object in the pickle (no stored array 'x')")
    if isinstance(value, _SparseMatrix):
        return _sparse_to_dense(value)
    if isinstance(value, dict):
        return {(k.decode("latin1") if isinstance(k, bytes) else k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _sparse_to_dense(matrix: _SparseMatrix) -> np.ndarray:
    state = matrix.state
    if not isinstance(state, dict):
        raise BodyModelError("unsupported sparse matrix layout in the pickle")
    shape = tuple(state.get("_shape", state.get("shape", ())))
    data, indices, indptr = (np.asarray(state[k]) for k in ("data", "indices", "indptr"))
    dense = np.zeros(shape, dtype=np.float64)
    outer = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    if matrix.layout == "csc":
        np.add.at(dense, (indices, outer), data)
    else:
        np.add.at(dense, (outer, indices), data)
    return dense


def safe_unpickle(raw: bytes) -> object:
    """Unpickle bytes with the allow-list above; returns plain numpy/dict/list values."""
    return _plain(_SafeUnpickler(io.BytesIO(raw), encoding="latin1").load())


# --- public loaders ---------------------------------------------------------------------------

def _from_mapping(data: dict, source: str, named: str | None = None) -> BodyModelData:
    """The body of a file's arrays; `named`: the kind its file name claims (SMPLH_..., see smplh.kind_named)."""
    missing = [k for k in ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights",
                           "kintree_table") if k not in data]
    if missing:
        raise BodyModelError(f"{source}: not an SMPL / SMPL-H / SMPL-X body model (missing {', '.join(missing)}).")
    parents = np.asarray(data["kintree_table"], dtype=np.int64)[0].copy()
    parents[0] = -1
    message = smplh.joint_count_error(len(parents), source, named)
    if message:
        raise BodyModelError(message)
    kind = smplh.KINDS[len(parents)]
    if tuple(int(p) for p in parents) != smplh.file_parents(kind):
        raise BodyModelError(f"{source}: kinematic tree {parents.tolist()} is not {smplh.LABELS[kind]}'s.")
    arrays = {"J_regressor": np.asarray(data["J_regressor"], dtype=np.float32),
              "weights": np.asarray(data["weights"], dtype=np.float32),
              "posedirs": np.asarray(data["posedirs"], dtype=np.float32)}
    extra: dict = {}
    if kind != "smpl":
        joints, V = len(parents), len(np.asarray(data["v_template"]))
        for name, shape in (("J_regressor", (joints, V)), ("weights", (V, joints)),
                            ("posedirs", (V, 3, (joints - 1) * 9))):
            if arrays[name].shape != shape:
                raise BodyModelError(f"{source}: '{name}' has shape {arrays[name].shape}; an "
                                     f"{smplh.LABELS[kind]} file has {shape}. Is the file complete?")
        split = smplh.split_hands(kind, **arrays)
        arrays = {k: split[k] for k in arrays}
        extra = {"kind": kind, "finger_regressor": split["finger_regressor"], "rig_weights": split["rig_weights"],
                 "extra_vertex_ids": smplh.extra_vertex_ids(kind)}
    body = BodyModelData(
        v_template=np.asarray(data["v_template"], dtype=np.float32),
        faces=np.asarray(data["f"], dtype=np.int64),
        shapedirs=np.asarray(data["shapedirs"], dtype=np.float32)[:, :, :10],
        parents=np.array(SMPL_PARENTS, dtype=np.int64),
        **arrays, **extra,
    )
    return body.validate(source)


def read_model_arrays(path: str | Path) -> dict:
    """The arrays of a body-model file (official `.pkl` or smplx-style `.npz`), read safely."""
    path = Path(path)
    if not path.is_file():
        raise BodyModelError(
            f"body model file not found: {path}. Place SMPL_NEUTRAL.pkl (or a converted .npz) in "
            "model_files/ — see model_files/README.md — or omit it to use the built-in demo body.")
    raw = path.read_bytes()
    if not raw:
        raise BodyModelError(f"{path} is empty; download the SMPL model file again.")
    if raw[:2] == b"PK":  # a zip archive: numpy .npz
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
                data = {k: npz[k] for k in npz.files}
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise BodyModelError(f"{path} is not a readable .npz body model ({exc}).") from exc
    else:
        try:
            data = safe_unpickle(raw)
        except pickle.UnpicklingError as exc:
            raise BodyModelError(f"{path}: {exc}") from exc
        except (EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise BodyModelError(f"{path} is corrupt or not a pickled SMPL model ({exc}).") from exc
        if not isinstance(data, dict):
            raise BodyModelError(f"{path} does not contain an SMPL model dictionary.")
    return data


def load_body_model(path: str | Path) -> BodyModelData:
    """Load an SMPL, SMPL-H or SMPL-X body model from its official `.pkl` or an smplx-style `.npz`."""
    return _from_mapping(read_model_arrays(path), str(path), smplh.kind_named(Path(path).name))


def save_arrays(data: dict, path: str | Path) -> Path:
    """Write a body file's numeric arrays as a plain `.npz` (what `convert-body` does for SMPL-H / SMPL-X)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = {k: np.asarray(v) for k, v in data.items()
             if isinstance(v, np.ndarray) and v.dtype != object}
    with open(path, "wb") as handle:
        np.savez(handle, **plain)
    return path


def save_npz(body: BodyModelData, path: str | Path) -> Path:
    """Write smplx-style `.npz` (what `propose-backend convert-body` produces)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.savez(handle, **body.to_smplx_dict())
    return path


def save_plain_pkl(body: BodyModelData, path: str | Path) -> Path:
    """Write a chumpy-free SMPL pickle that smplx's own loader reads (used for the demo body)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(body.to_smplx_dict(), handle, protocol=2)
    return path
