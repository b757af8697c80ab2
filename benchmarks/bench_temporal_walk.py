"""Ground truth from real motion: the CMU walk drives the body, rendered, estimated, smoothed, scored.

The walk (../shared/data/mocap/cmu_12_01_walk.bvh, resampled to 30 fps) is retargeted onto the
body the backend loads (walk_truth.py), rendered by the CPU renderer from a fixed camera, and run
through the whole pipeline in instant mode (BlazePose) with smoothing off; the per-frame estimate
is cached in /tmp. Then per-frame, smoothed, and three peer filters (One-Euro, Gaussian and
Savitzky–Golay on quaternions; temporal_baselines.py, each at the best setting of a small grid)
are scored against the truth:
  MPJPE / PA-MPJPE (mm; 24 joints, pelvis-relative, posed on the truth body's skeleton),
  acceleration error (mm/frame², second differences of those joints),
  jitter (deg/frame, mean change of the local rotations; the truth's own beside it),
  foot skating (mm/frame: displacement of the foot in the camera frame while the true foot is down),
  pelvis (mm: error of the pelvis position in the camera frame, i.e. of the root path),
  Spearman(uncertainty_deg, rotation error) over all joint estimates.

    PYTHONPATH=backend:. .venv/bin/python benchmarks/bench_temporal_walk.py [--views side,front] [--strength 1]
        [--tune]   # also print the smoother over a grid of its noise levels
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "backend")]  # run from a checkout

import argparse
import hashlib
import time

import cv2
import numpy as np
import propose_backend  # noqa: F401 - before torch: its OpenMP settings (sleeping workers) apply as in the product
import torch

import temporal_baselines as baselines
from walk_truth import TruthMotion, read_bvh, retarget
from propose_backend.body.layer import BodyLayer
from propose_backend.results import read_results
from propose_backend.temporal import Pins, raw_frames, smooth, smooth_results, so3
from propose_backend.temporal.kinematics import joint_positions, world_from_local

BVH = HERE.parent.parent / "shared" / "data" / "mocap" / "cmu_12_01_walk.bvh"
CACHE = Path("/tmp/propose_bench_walk")
# bumped when the instant-mode estimator changes: the cached estimate is re-run, the render kept
ESTIMATE_TAG = "reproj1"
SIZE, FOCAL, FPS, SECONDS = (960, 540), 800.0, 30.0, 4.0
# Camera placements: looking at the middle of the walk from `azimuth` (degrees from the walker's
# left side towards their front), `distance` metres away, lens at 1.3 m.
VIEWS = {"side": dict(azimuth=20.0, distance=4.5), "front": dict(azimuth=65.0, distance=5.0)}
FOOT = (7, 10), (8, 11)  # ankle and foot joint of the left / right foot


def project_body():
    """The body the backend itself loads when no SMPL file is given (through the body API only)."""
    from propose_backend import body as bodies
    from propose_backend.inference import find_model_files

    files = find_model_files()
    if hasattr(bodies, "load_body"):
        return bodies.load_body(files.body_model)[0]
    return bodies.load_body_model(files.body_model) if files.body_model else bodies.demo_body()


def walk_on_body() -> tuple[object, BodyLayer, np.ndarray, TruthMotion]:
    """The body the backend loads, its layer, its rest joints and the CMU walk retargeted onto it."""
    if not BVH.is_file():
        sys.exit(f"skipped: {BVH} is absent (the shared test data folder is needed)")
    body = project_body()
    layer = BodyLayer(body).double()
    rest = layer.rest_points(torch.zeros(1, 10, dtype=torch.float64))[0, :24].numpy()
    return body, layer, rest, retarget(read_bvh(BVH), rest, fps=FPS, seconds=SECONDS)


def camera_pose(truth: TruthMotion, azimuth: float, distance: float) -> tuple[np.ndarray, np.ndarray]:
    """World→camera rotation (rows: right, down, forward) and the camera centre, in the body's Y-up world."""
    centre = 0.5 * (truth.pelvis[0] + truth.pelvis[-1])
    a = np.radians(azimuth)
    eye = centre + distance * np.array([np.cos(a), 0.0, np.sin(a)])
    eye[1] = 1.3
    forward = centre - eye
    forward[1] = centre[1] - 0.25 - eye[1]
    forward /= np.linalg.norm(forward)
    right = np.cross([0.0, -1.0, 0.0], forward)  # x = y × z in the camera frame
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward]), eye


def truth_in_camera(truth: TruthMotion, R: np.ndarray, eye: np.ndarray) -> dict[str, np.ndarray]:
    local = truth.local.copy()
    local[:, 0] = R @ local[:, 0]
    return {"rotmats": local, "transl": (truth.pelvis - eye) @ R.T}


def render_video(body, layer: BodyLayer, truth: dict[str, np.ndarray], path: Path) -> None:
    from clothing import clothed_face_colors
    from propose_backend.render import render_mesh

    extra = getattr(body, "extra_vertex_ids", None)
    if extra is None:
        from propose_backend.skeleton import EXTRA_VERTEX_IDS as extra
    colors = clothed_face_colors(body.v_template, body.faces, body.weights, eyes=(extra[1], extra[2]), nose=extra[0])
    w, h = SIZE
    background = np.zeros((h, w, 3), np.uint8)
    background[:] = np.linspace(150, 95, h)[:, None, None].astype(np.uint8)  # a lighter "sky" over a darker floor
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE)
    with torch.no_grad():
        betas = torch.zeros(1, 10, dtype=torch.float64)
        for t in range(len(truth["rotmats"])):
            vertices, _, _ = layer(betas, torch.as_tensor(truth["rotmats"][t:t + 1]))
            image = render_mesh(vertices[0].numpy() + truth["transl"][t], body.faces, image=background,
                                focal=FOCAL, face_colors=colors)
            writer.write(image)
    writer.release()


def per_frame_estimate(view: str, body, layer: BodyLayer, truth: dict[str, np.ndarray]) -> dict:
    """The pipeline's unsmoothed instant-mode results for the rendered walk (cached in /tmp)."""
    from propose_backend.inference import EstimateOptions, EstimatorSettings, estimate_file, find_model_files
    from propose_backend.estimators import open_estimator

    key = hashlib.sha1(np.ascontiguousarray(body.v_template, np.float32).tobytes()
                       + repr((view, VIEWS[view], SIZE, FOCAL, FPS, SECONDS)).encode()).hexdigest()[:12]
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"walk_{view}_{key}_{ESTIMATE_TAG}.npz"
    if not out.exists():
        video = CACHE / f"walk_{view}_{key}.avi"
        if not video.exists():
            started = time.perf_counter()
            render_video(body, layer, truth, video)
            print(f"  rendered {len(truth['rotmats'])} frames in {time.perf_counter() - started:.1f} s -> {video}")
        estimator, _ = open_estimator("keypoints", EstimatorSettings(find_model_files()))
        try:
            started = time.perf_counter()
            estimate_file(video, out, estimator, EstimateOptions(focal_px=FOCAL, smooth=0.0))
            print(f"  estimated in {time.perf_counter() - started:.1f} s -> {out}")
        finally:
            estimator.close()
    return read_results(out)


def truth_contacts(truth: dict[str, np.ndarray], rest: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(T, 2) True where the true foot is down: near its lowest height and slower than 0.25 m/s."""
    feet = foot_points(truth["rotmats"], truth["transl"], rest)
    height = feet @ up
    speed = np.linalg.norm(np.gradient(feet, axis=0), axis=-1) * FPS
    return (height < height.min(0) + 0.05) & (speed < 0.25)


def foot_points(rotmats: np.ndarray, transl: np.ndarray, rest: np.ndarray) -> np.ndarray:
    joints = joint_positions(world_from_local(rotmats.astype(np.float64)), rest) + transl[:, None]
    return np.stack([joints[:, list(f)].mean(1) for f in FOOT], 1)  # (T, 2, 3)


def _procrustes(p: np.ndarray, g: np.ndarray) -> np.ndarray:
    mp, mg = p.mean(0), g.mean(0)
    U, S, Vt = np.linalg.svd((p - mp).T @ (g - mg))
    D = np.diag([1, 1, np.sign(np.linalg.det(U @ Vt))])
    scale = np.trace(np.diag(S) @ D) / ((p - mp) ** 2).sum()
    return scale * (p - mp) @ (U @ D @ Vt) + mg


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


class Scorer:
    """All figures of one method against the truth, on the frames the per-frame estimate saw a person."""

    def __init__(self, truth: dict[str, np.ndarray], rest: np.ndarray, valid: np.ndarray, up: np.ndarray):
        self.truth, self.rest, self.valid = truth, rest, valid
        self.joints = joint_positions(world_from_local(truth["rotmats"]), rest)
        self.contacts = truth_contacts(truth, rest, up)
        self.up = up

    def __call__(self, rotmats: np.ndarray, transl: np.ndarray, uncertainty: np.ndarray | None = None) -> dict:
        rotmats = so3.project(rotmats.astype(np.float64))
        v = self.valid
        joints = joint_positions(world_from_local(rotmats), self.rest)
        err = np.linalg.norm(joints - self.joints, axis=-1)[v] * 1000
        pa = np.mean([np.linalg.norm(_procrustes(p, g) - g, axis=-1).mean()
                      for p, g in zip(joints[v], self.joints[v])]) * 1000
        triple = v[2:] & v[1:-1] & v[:-2]
        acc = lambda x: x[2:] - 2 * x[1:-1] + x[:-2]  # noqa: E731
        accel = np.linalg.norm(acc(joints) - acc(self.joints), axis=-1)[triple].mean() * 1000
        pair = v[1:] & v[:-1]
        jitter = so3.angle_deg(rotmats[1:], rotmats[:-1])[pair].mean()
        feet = foot_points(rotmats, transl, self.rest)
        down = self.contacts[1:] & self.contacts[:-1] & pair[:, None]
        skating = np.linalg.norm(np.diff(feet, axis=0), axis=-1)[down].mean() * 1000
        pelvis = np.linalg.norm(transl - self.truth["transl"], axis=-1)[v].mean() * 1000
        out = dict(mpjpe=err.mean(), pa_mpjpe=pa, accel=accel, jitter=jitter, skating=skating, pelvis=pelvis,
                   spearman=np.nan)
        if uncertainty is not None:
            G_pred, G_true = world_from_local(rotmats), world_from_local(self.truth["rotmats"])
            rot_err = so3.angle_deg(G_pred, G_true)[v]
            out["spearman"] = spearman(rot_err.ravel(), uncertainty[v].ravel())
        return out


ROW = "{:38s} {:>7s} {:>8s} {:>9s} {:>8s} {:>9s} {:>7s} {:>8s}"


def print_row(name: str, s: dict) -> None:
    sp = "—" if np.isnan(s["spearman"]) else f"{s['spearman']:+.2f}"
    print(ROW.format(name, f"{s['mpjpe']:.1f}", f"{s['pa_mpjpe']:.1f}", f"{s['accel']:.1f}", f"{s['jitter']:.2f}",
                     f"{s['skating']:.1f}", f"{s['pelvis']:.0f}", sp))


def best_baselines(score: Scorer, raw: dict, fps: float, accel_cap: float) -> None:
    """Each peer filter at its best MPJPE over its grid, and at its best MPJPE with accel ≤ the smoother's."""
    for name, grid in baselines.GRIDS.items():
        scored = []
        for params in grid:
            rot, tr = baselines.run(name, raw["rotmats"], raw["transl"], raw["valid"], fps, **params)
            scored.append((score(rot, tr), params))
        best = min(scored, key=lambda sp: sp[0]["mpjpe"])
        print_row(f"{name} best MPJPE {_fmt(best[1])}", best[0])
        capped = [sp for sp in scored if sp[0]["accel"] <= accel_cap]
        if capped:
            b = min(capped, key=lambda sp: sp[0]["mpjpe"])
            print_row(f"{name} accel<=ours {_fmt(b[1])}", b[0])
        else:
            lowest = min(scored, key=lambda sp: sp[0]["accel"])
            print_row(f"{name} lowest accel {_fmt(lowest[1])}", lowest[0])


def _fmt(params: dict) -> str:
    return "(" + ",".join(f"{k[:3]}={v:g}" for k, v in params.items()) + ")"


def pin_experiment(data: dict, truth: dict, joint: int, strength: float) -> None:
    """Issue #13's case: pin one joint to its true local rotation every k frames; its error in between, re-solve time."""
    T = len(data["frame_index"])
    raw = raw_frames(data)
    started = time.perf_counter()
    plain = smooth_results(data, strength=strength)
    t_plain = time.perf_counter() - started

    def error(rotmats: np.ndarray, rows: np.ndarray) -> float:
        return float(so3.angle_deg(rotmats[rows, joint].astype(np.float64), truth["rotmats"][rows, joint]).mean())

    for every in (30, 15):
        frames = np.arange(every // 2, T, every)
        pins = Pins(data["frame_index"][frames], np.full(len(frames), joint), truth["rotmats"][frames, joint])
        started = time.perf_counter()
        pinned = smooth_results(data, strength=strength, pins=pins)
        t_pinned = time.perf_counter() - started
        between = np.setdiff1d(np.arange(frames[0], frames[-1] + 1), frames)
        at_pins = so3.angle_deg(pinned["rotmats"][frames, joint].astype(np.float64), pins.rotmats).max()
        print(f"  joint {joint} pinned on {len(frames)} frames (every {every}): its local-rotation error on the "
              f"{len(between)} frames between: per-frame {error(raw['rotmats'], between):.1f}°, footage alone "
              f"{error(plain['rotmats'], between):.1f}°, footage + pins {error(pinned['rotmats'], between):.1f}° "
              f"(at the pins {at_pins:.3f}°); smooth {t_plain:.2f} s, re-solve with pins {t_pinned:.2f} s")


def tune(data: dict, score: Scorer, strength: float) -> None:
    """The smoother over a grid of its rotation noise and measurement scale (which it was tuned with)."""
    q0, m0 = smooth.ROTATION_ACCEL_NOISE, smooth.MEASUREMENT_SCALE
    try:
        for q in (4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 400.0):
            for m in (1.0,):
                smooth.ROTATION_ACCEL_NOISE, smooth.MEASUREMENT_SCALE = q, m
                out = smooth_results(data, strength=strength)
                print_row(f"  q={q:g} meas={m:g}", score(out["rotmats"], out["transl"], out["uncertainty_deg"]))
    finally:
        smooth.ROTATION_ACCEL_NOISE, smooth.MEASUREMENT_SCALE = q0, m0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", default="side,front")
    parser.add_argument("--strength", type=float, default=1.0)
    parser.add_argument("--tune", action="store_true")
    parser.add_argument("--pin-joints", default="18,4", help="SMPL joints to pin (18: left elbow, 4: left knee)")
    args = parser.parse_args()
    body, layer, rest, truth_walk = walk_on_body()
    print(f"body: {len(body.v_template)} vertices; walk: {len(truth_walk.local)} frames at {FPS:g} fps")
    for view in args.views.split(","):
        R, eye = camera_pose(truth_walk, **VIEWS[view])
        truth = truth_in_camera(truth_walk, R, eye)
        data = per_frame_estimate(view, body, layer, truth)
        raw = raw_frames(data)
        valid = np.asarray(raw["valid"], bool)
        up = R @ np.array([0.0, 1.0, 0.0])
        score = Scorer(truth, rest, valid, up)
        print(f"\nview '{view}' {VIEWS[view]}: {valid.sum()}/{len(valid)} frames with a person; "
              f"true foot contacts: left {score.contacts[:, 0].sum()}, right {score.contacts[:, 1].sum()} frames")
        print(ROW.format("method", "MPJPE", "PA-MPJPE", "accel err", "jitter", "skating", "pelvis", "Spearman"))
        print(ROW.format("", "mm", "mm", "mm/f²", "°/frame", "mm/frame", "mm", "unc~err"))
        print_row("truth", score(truth["rotmats"], truth["transl"]))
        per_frame = score(raw["rotmats"], raw["transl"], raw["uncertainty_deg"])
        print_row("per-frame", per_frame)
        started = time.perf_counter()
        out = smooth_results(data, strength=args.strength)
        seconds = time.perf_counter() - started
        ours = score(out["rotmats"], out["transl"], out["uncertainty_deg"])
        print_row(f"smoothed (strength {args.strength:g})", ours)
        best_baselines(score, raw, FPS, ours["accel"])
        print(f"  smoothing took {seconds:.2f} s; accel error {ours['accel'] / per_frame['accel']:.2f}× per-frame")
        for joint in map(int, args.pin_joints.split(",")):
            pin_experiment(data, truth, joint, args.strength)
        if args.tune:
            tune(data, score, args.strength)


if __name__ == "__main__":
    main()
