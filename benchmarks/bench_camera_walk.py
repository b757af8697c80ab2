"""Ground truth for the camera solve: the CMU walk in a textured set, filmed by a moving and by a still camera.

The walk (walk_truth.py, 30 fps, 4 s) drives the body the backend loads; the CPU renderer draws
it in a textured set (render_scene.py: patterned floor, boxes at several depths, walls) from
  still  — the side camera of bench_temporal_walk.py (control);
  pan    — the same camera panning 16°, tilting 9°, rolling up to 3.5° (turning on a tripod head);
  dolly  — pan, plus a 1.2 m sideways dolly (the camera also moves: parallax).
Each clip runs through the pipeline in instant mode unsmoothed (cached in /tmp), then the solve
(timed against the estimate) and the smoother with the camera taken as still, as solved for its
rotation only (the solve before its travel pass), as solved with the travel, and as the true
camera path (a reference: what the body estimate allows with a perfect camera). Figures, in metres of the results' own world (world_from_camera):
  camera rotation error (deg, relative to the first frame, mean / max);
  camera centre error (mm, in the first camera, mean / max) and the end-to-end travel found;
  WA-MPJPE (24 world joints, one similarity alignment over the whole clip), mm;
  W-MPJPE (rigid alignment fitted on the first two frames only, so drift shows), mm, and in
    brackets its mean over alignments fitted on every other pair of consecutive frames (the first
    two frames' own heading error, times the walk's length, weighs on the first figure alone);
  foot skating in the world while the true foot is down, mm/frame.

    PYTHONPATH=backend:. .venv/bin/python benchmarks/bench_camera_walk.py [--clips still,pan,dolly] [--before main]

--before TAG also scores, in the same run, an estimate cached by an earlier estimator (`main`: the
one before instant mode turned the landmarks from the crop's ray into the camera).
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "backend")]

import argparse
import copy
import hashlib
import time

import cv2
import numpy as np
import propose_backend  # noqa: F401 - before torch: its OpenMP settings (sleeping workers) apply as in the product
import torch

from bench_temporal_walk import ESTIMATE_TAG, FOOT, FPS, camera_pose, walk_on_body
from propose_backend.body.layer import BodyLayer
from propose_backend.camera import relative_transforms, solve_results_footage, with_travel
from propose_backend.inference.footage import open_rows
from clothing import clothed_face_colors
from propose_backend.render_scene import look_at, render_view, textured_set
from propose_backend.results import read_results
from propose_backend.temporal import smooth_results, so3
from propose_backend.temporal.kinematics import joint_positions, world_from_local

CACHE = Path("/tmp/propose_bench_camera")
SIZE, FOCAL = (960, 540), 800.0
CLIPS = {"still": dict(pan=0.0, tilt=0.0, roll=0.0, dolly=0.0),
         "pan": dict(pan=16.0, tilt=9.0, roll=3.5, dolly=0.0),
         "dolly": dict(pan=16.0, tilt=9.0, roll=3.5, dolly=1.2)}


def cameras(truth, pan: float, tilt: float, roll: float, dolly: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """(R, eye) per frame: the side view turned by pan/tilt/roll over the clip and slid sideways by `dolly`."""
    R0, eye0 = camera_pose(truth, azimuth=20.0, distance=4.5)
    T = len(truth.local)
    out = []
    for t in range(T):
        u = t / (T - 1)
        eye = eye0 + (u - 0.5) * dolly * R0[0]
        yaw, pitch = np.radians(-pan * (u - 0.5)), np.radians(tilt * (u - 0.5))  # pan along with the walker
        forward_cam = np.array([np.sin(yaw) * np.cos(pitch), -np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
        target = eye + R0.T @ forward_cam
        out.append((look_at(eye, target, roll * np.sin(np.pi * u)), eye))
    return out


def render_clip(body, layer: BodyLayer, truth, cams, path: Path) -> None:
    """Render the walk in the set to a video at `path`."""
    extra = body.extra_vertex_ids
    colours = clothed_face_colors(body.v_template, body.faces, body.weights, eyes=(extra[1], extra[2]), nose=extra[0])
    betas = torch.zeros(1, 10, dtype=torch.float64)
    with torch.no_grad():
        posed = [layer(betas, torch.as_tensor(truth.local[t:t + 1]))[0][0].numpy() + truth.pelvis[t]
                 for t in range(len(truth.local))]
    floor_y = min(v[:, 1].min() for v in posed)
    centre = 0.5 * (truth.pelvis[0] + truth.pelvis[-1])
    scene = textured_set((centre[0], centre[2]), variant=5)
    scene = (scene[0] + np.array([0.0, floor_y, 0.0]), scene[1], scene[2])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE)
    for t, (R, eye) in enumerate(cams):
        writer.write(render_view(scene, R, eye, SIZE, FOCAL, [(posed[t], body.faces, colours)]))
    writer.release()


def estimate(video: Path, out: Path) -> float:
    from propose_backend.inference import EstimateOptions, EstimatorSettings, estimate_file, find_model_files
    from propose_backend.estimators import open_estimator

    estimator, _ = open_estimator("keypoints", EstimatorSettings(find_model_files()))
    try:
        started = time.perf_counter()
        estimate_file(video, out, estimator, EstimateOptions(focal_px=FOCAL, smooth=0.0, still_camera=True))
        return time.perf_counter() - started
    finally:
        estimator.close()


def _similarity(p: np.ndarray, g: np.ndarray, scale: bool = True) -> np.ndarray:
    """p aligned onto g (n, 3) by the best similarity (or rigid) transform."""
    mp, mg = p.mean(0), g.mean(0)
    U, S, Vt = np.linalg.svd((p - mp).T @ (g - mg))
    D = np.diag([1, 1, np.sign(np.linalg.det(U @ Vt))])
    s = np.trace(np.diag(S) @ D) / ((p - mp) ** 2).sum() if scale else 1.0
    return lambda x: s * (x - mp) @ (U @ D @ Vt) + mg


def world_joints(data: dict) -> np.ndarray:
    cam = np.asarray(data["joints3d"], np.float64)[:, :24] + np.asarray(data["transl"], np.float64)[:, None]
    M = np.asarray(data["world_from_camera"], np.float64)
    return np.einsum("tij,tpj->tpi", M[:, :3, :3], cam) + M[:, None, :3, 3]


def score(data: dict, truth_joints: np.ndarray, contacts: np.ndarray) -> dict:
    v = np.asarray(data["valid"], bool)
    est = world_joints(data)
    wa = _similarity(est[v].reshape(-1, 3), truth_joints[v].reshape(-1, 3))
    wa_err = np.linalg.norm(wa(est[v].reshape(-1, 3)) - truth_joints[v].reshape(-1, 3), axis=-1).mean() * 1000
    first = np.flatnonzero(v)[:2]
    w = _similarity(est[first].reshape(-1, 3), truth_joints[first].reshape(-1, 3), scale=False)
    w_err = np.linalg.norm(w(est[v].reshape(-1, 3)) - truth_joints[v].reshape(-1, 3), axis=-1).mean() * 1000
    # the same with the alignment fitted on every pair of consecutive frames in turn: the first two
    # frames' own pose error (their heading, times the walk's length) weighs on W-MPJPE alone
    pairs = []
    for k in np.flatnonzero(v[:-1] & v[1:])[::2]:
        wk = _similarity(est[k:k + 2].reshape(-1, 3), truth_joints[k:k + 2].reshape(-1, 3), scale=False)
        pairs.append(np.linalg.norm(wk(est[v].reshape(-1, 3)) - truth_joints[v].reshape(-1, 3), axis=-1).mean() * 1000)
    feet = np.stack([est[:, list(f)].mean(1) for f in FOOT], 1)
    down = contacts[1:] & contacts[:-1] & (v[1:] & v[:-1])[:, None]
    skate = np.linalg.norm(np.diff(feet, axis=0), axis=-1)[down].mean() * 1000
    return dict(wa=wa_err, w=w_err, w_pairs=float(np.mean(pairs)), skate=skate)


def true_contacts(joints: np.ndarray) -> np.ndarray:
    feet = np.stack([joints[:, list(f)].mean(1) for f in FOOT], 1)
    height = feet[..., 1]
    speed = np.linalg.norm(np.gradient(feet, axis=0), axis=-1) * FPS
    return (height < height.min(0) + 0.05) & (speed < 0.25)


def plot_top_view(paths: dict, truth_pelvis: np.ndarray, out: Path) -> None:
    """Camera centres and pelvis path seen from above in the first camera (x right, z forward), metres."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    colours = {"rotation only": "tab:orange", "rotation + travel": "tab:blue", "true camera (ref.)": "black"}
    for label, (rel, pelvis) in paths.items():
        style = dict(color=colours[label], lw=2 if label == "rotation + travel" else 1.2,
                     ls="--" if label == "true camera (ref.)" else "-")
        ax.plot(rel[:, 0, 3], rel[:, 2, 3], marker="o", markevery=[len(rel) - 1], **style, label=f"camera, {label}")
        ax.plot(pelvis[:, 0], pelvis[:, 2], alpha=0.6, **{**style, "lw": 1}, label=f"pelvis, {label}")
    ax.plot(truth_pelvis[:, 0], truth_pelvis[:, 2], color="tab:green", lw=1, label="pelvis, truth")
    ax.set_xlabel("x in the first camera (m, right)")
    ax.set_ylabel("z in the first camera (m, forward)")
    ax.set_title("Dolly clip from above: camera travel and the walk")
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)


def run_estimate(name: str, label: str, data: dict, video: Path, cams, truth_joints: np.ndarray,
                 estimate_s: float, rows_wanted: tuple[str, ...] | None = None):
    """Solve and smooth one cached estimate of a clip under each camera path; print a row per path."""
    T = len(data["frame_index"])
    started = time.perf_counter()
    turned = solve_results_footage(data, open_rows(data, video), travel=False)
    rotation_s = time.perf_counter() - started
    turned_rel = relative_transforms(turned, T)  # before this travel pass: rotation only
    started = time.perf_counter()
    path = with_travel(data, copy.deepcopy(turned))
    solve_s = rotation_s + time.perf_counter() - started
    R = np.stack([c[0] for c in cams])
    eyes = np.stack([c[1] for c in cams])
    true_rel = np.tile(np.eye(4), (T, 1, 1))
    true_rel[:, :3, :3] = R[0][None] @ np.swapaxes(R, 1, 2)
    true_rel[:, :3, 3] = (eyes - eyes[0]) @ R[0].T  # camera-t centre in camera-0, metres
    contacts = true_contacts(truth_joints)
    rows = [("still camera", None), ("rotation only", turned_rel),
            ("rotation + travel", relative_transforms(path, T)), ("true camera (ref.)", true_rel)]
    top = {}
    for row, rel in rows:
        if rows_wanted is not None and row not in rows_wanted:
            continue
        smoothed = smooth_results(data if rel is None else dict(data, world_from_camera=rel.astype(np.float32)))
        if rel is not None:  # the pelvis in the first camera: world → camera 0
            joints = world_joints(smoothed)[:, 0]
            M0 = np.linalg.inv(np.asarray(smoothed["world_from_camera"], np.float64)[0])
            top[row] = (rel, joints @ M0[:3, :3].T + M0[:3, 3])
        figures = score(smoothed, truth_joints, contacts)
        rel = np.tile(np.eye(4), (T, 1, 1)) if rel is None else rel
        err = so3.angle_deg(rel[:, :3, :3], true_rel[:, :3, :3])
        centre_err = np.linalg.norm(rel[:, :3, 3] - true_rel[:, :3, 3], axis=1)
        timing = f"{solve_s:.1f} / {estimate_s:.1f} ({100 * solve_s / estimate_s:.0f} %)" \
            if row == "rotation + travel" else ""
        print(f"{name:6s} | {label:5s} | {row:18s} | {err.mean():5.2f} / {err.max():5.2f}        | "
              f"{centre_err.mean() * 1000:4.0f} / {centre_err.max() * 1000:4.0f}, "
              f"{np.linalg.norm(rel[-1, :3, 3] - rel[0, :3, 3]):.2f} of {np.linalg.norm(true_rel[-1, :3, 3]):.2f} | "
              f"{figures['wa']:4.0f} / {figures['w']:4.0f} ({figures['w_pairs']:4.0f}), {figures['skate']:4.1f}   "
              f"| {timing}")
    print(f"{name:6s} | {label:5s} | solve: {path.describe()}")
    return top, (truth_joints[:, 0] - eyes[0]) @ R[0].T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", default="still,pan,dolly")
    parser.add_argument("--plot", type=Path, help="top view of the last clip's camera and pelvis paths (PNG)")
    parser.add_argument("--before", default="",
                        help="tag of an earlier cached estimate to score first in the same run ('' = none; "
                             "'main' = the estimate cached before the crop-ray turn)")
    args = parser.parse_args()
    body, layer, rest, truth = walk_on_body()
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"{'clip':6s} | est.  | {'camera path':18s} | rot err mean / max ° | centre err mean / max mm, travel m | "
          "WA / W-MPJPE (every start pair) mm, skate mm/f | solve s / estimate s")
    for name in args.clips.split(","):
        cams = cameras(truth, **CLIPS[name])
        key = hashlib.sha1(repr((name, CLIPS[name], SIZE, FOCAL, len(body.v_template), "follow")).encode()).hexdigest()[:10]
        video = CACHE / f"{name}_{key}.avi"
        if not video.exists():
            render_clip(body, layer, truth, cams, video)
        truth_joints = joint_positions(world_from_local(truth.local), rest) + truth.pelvis[:, None]  # world, Y up
        if args.before:
            old = CACHE / (f"{name}_{key}.npz" if args.before == "main" else f"{name}_{key}_{args.before}.npz")
            if old.exists():
                run_estimate(name, "before", read_results(old), video, cams, truth_joints,
                             float(np.load(str(old) + ".time.npy")),
                             ("still camera", "rotation + travel", "true camera (ref.)"))
            else:
                print(f"{name:6s} | no cached estimate {old.name} to compare with")
        raw_path = CACHE / f"{name}_{key}_{ESTIMATE_TAG}.npz"
        estimate_s = float(np.load(str(raw_path) + ".time.npy")) if raw_path.exists() else None
        if estimate_s is None:
            estimate_s = estimate(video, raw_path)
            np.save(str(raw_path) + ".time.npy", estimate_s)
        top, truth_top = run_estimate(name, "now", read_results(raw_path), video, cams, truth_joints, estimate_s)
        if args.plot:
            plot_top_view(top, truth_top, args.plot)


if __name__ == "__main__":
    main()
