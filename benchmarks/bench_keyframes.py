#!/usr/bin/env python3
"""How long importing a long clip takes: bulk layered-action writing vs per-key keyframe_insert.

    python benchmarks/bench_keyframes.py [--frames 10000] [--insert-frames 500]

Runs under the bpy module (Blender as a Python module). The bulk figures are the add-on's real
code paths on a 10,000-frame results file: the keys alone (24 bone rotations, root translation,
24 uncertainty curves and the person-found flag), then the whole import (rig, skinned body,
keys, samples, camera). keyframe_insert writes the same channels one key at a time; it is timed on
fewer frames and extrapolated linearly, which flatters it (its per-key cost grows with the curve).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "backend")]

import bpy  # noqa: E402

from propose_backend.body import load_body  # noqa: E402
from propose_backend.results import SCHEMA_VERSION, empty_frames, write_results  # noqa: E402
from propose_blender import importer, motion, rig as rig_module, rotations, uncertainty  # noqa: E402


def synthetic_results(num_frames: int, num_samples: int, seed: int = 0, hands: bool = False) -> dict:
    """A results dict of the right shapes: random smooth-ish rotations on the Anny body (13,718 vertices);
    with `hands`, random finger rotations and uncertainties too (the right hand's larger, as if unseen)."""
    rng = np.random.default_rng(seed)
    body = load_body(None)[0]
    data = empty_frames(num_frames, num_samples, hands=hands)
    q = rng.normal(size=(num_frames, 24, 4)) * [1.0, 0.1, 0.1, 0.1] + [3.0, 0, 0, 0]
    data["rotmats"][:] = rotations.matrices(q)
    data["samples"][:] = rotations.matrices(q[:, None] + rng.normal(size=(num_frames, num_samples, 24, 4)) * 0.05)
    data["sample_log_density"][:] = -np.sort(rng.random((num_frames, num_samples)), axis=1)
    data["frame_index"][:] = np.arange(num_frames)
    data["valid"][:] = True
    data["transl"][:] = [0.0, 0.2, 3.0] + rng.normal(size=(num_frames, 3)) * 0.01
    data["uncertainty_deg"][:] = rng.gamma(2.0, 5.0, size=(num_frames, 24))
    data["posterior_F"][:] = 10.0 * data["rotmats"]  # a matrix-Fisher posterior about the mode
    data["bbox"][:] = (100.0, 100.0, 400.0, 800.0)
    if hands:
        q = rng.normal(size=(num_frames, 30, 4)) * [1.0, 0.2, 0.05, 0.05] + [3.0, 0, 0, 0]
        data["hand_rotmats"][:] = rotations.matrices(q)
        data["hand_posterior_F"][:] = 10.0 * data["hand_rotmats"]
        data["hand_samples"][:] = rotations.matrices(q[:, None] + rng.normal(size=(num_frames, num_samples, 30, 4)) * 0.05)
        data["hand_uncertainty_deg"][:] = rng.gamma(2.0, 6.0, size=(num_frames, 30)) + np.repeat([0.0, 25.0], 15)
        data["hand_valid"][:] = [True, False]
        data["hand_score"][:] = [0.9, 0.0]
    data["focal_px"][:], data["principal_pt"][:] = 1000.0, (960.0, 540.0)
    data.update(schema_version=np.int64(SCHEMA_VERSION), fps=np.float32(30.0), image_size=np.array([1920, 1080]),
                rest_joints=(body.J_regressor @ body.v_template).astype(np.float32),
                rest_vertices=body.v_template.astype(np.float32), faces=body.faces.astype(np.int32),
                lbs_weights=body.weights.astype(np.float32), meta={"created_by": "bench_keyframes"})
    return data


def fresh_rig(data: dict) -> bpy.types.Object:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    collection = bpy.context.scene.collection
    return rig_module.build_armature(bpy.context, "bench", data["rest_joints"], collection)


def bulk_keys(data: dict) -> float:
    rig = fresh_rig(data)
    frames = np.arange(1, len(data["valid"]) + 1)
    start = time.perf_counter()
    motion.write_motion(rig, frames, data["rotmats"], data["transl"])
    uncertainty.write_curves(rig, frames, data["valid"], data["uncertainty_deg"])
    return time.perf_counter() - start


def full_import(path: Path) -> float:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    start = time.perf_counter()
    importer.import_results(bpy.context, path).rig
    return time.perf_counter() - start


def keyframe_insert_keys(data: dict, num_frames: int) -> float:
    """The same channels, written the classic way: set the value, insert a key, per frame."""
    rig = fresh_rig(data)
    quats = motion.bone_quaternions(rig, data["rotmats"][:num_frames])
    roots, locations = (motion.floor_locations(rig, data["transl"][:num_frames]),
                        motion.root_locations(rig, data["transl"][:num_frames]))
    names = rig_module.joint_names()
    for name in names:
        rig[uncertainty.property_name(name)] = 0.0
    rig[uncertainty.VALID_PROPERTY] = 1
    start = time.perf_counter()
    for t in range(num_frames):
        frame = t + 1
        for j, name in enumerate(names):
            bone = rig.pose.bones[name]
            bone.rotation_quaternion = quats[t, j]
            bone.keyframe_insert("rotation_quaternion", frame=frame, group=name)
            rig[uncertainty.property_name(name)] = float(data["uncertainty_deg"][t, j])
            rig.keyframe_insert(f'["{uncertainty.property_name(name)}"]', frame=frame, group=uncertainty.GROUP)
        rig.pose.bones[names[0]].location = locations[t]
        rig.pose.bones[names[0]].keyframe_insert("location", frame=frame, group=names[0])
        rig.pose.bones[rig_module.ROOT_BONE].location = roots[t]
        rig.pose.bones[rig_module.ROOT_BONE].keyframe_insert("location", frame=frame, group=rig_module.ROOT_BONE)
        rig.keyframe_insert(f'["{uncertainty.VALID_PROPERTY}"]', frame=frame, group=uncertainty.GROUP)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=8, help="posterior samples per frame in the file")
    parser.add_argument("--insert-frames", type=int, default=1000,
                        help="frames to time keyframe_insert on (then extrapolated)")
    args = parser.parse_args(argv)

    data = synthetic_results(args.frames, args.samples)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_results(Path(tmp) / "bench.npz", data)
        keys = bulk_keys(data)
        whole = full_import(path)
    insert_frames = min(args.insert_frames, args.frames)
    inserted = keyframe_insert_keys(data, insert_frames)
    extrapolated = inserted * args.frames / insert_frames
    curves = 24 * 4 + 3 + 3 + 4 * 3 + 24 + 1  # rotations, pelvis + root + 4 IK targets, uncertainty, valid
    print(f"{args.frames} frames, {curves} curves ({curves * args.frames:,} keys):")
    print(f"  bulk keys (layered action, foreach_set):  {keys:6.2f} s")
    print(f"  whole import (+ rig, body, {args.samples} samples/frame, camera): {whole:6.2f} s")
    print(f"  keyframe_insert, {insert_frames} frames measured:  {inserted:6.2f} s")
    print(f"  keyframe_insert, {args.frames} frames extrapolated: {extrapolated:6.1f} s "
          f"(linear, a lower bound; {extrapolated / keys:.0f}x the bulk keys)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
