"""Footage with known people: several bodies, each in its own shirt colour, moving through one shot.

The tests and the crossing benchmark feed it to the multi-person run: who is where on every frame
is known, so identity switches and per-person errors can be counted. Bodies are drawn far to
near with the CPU renderer, so the nearer one hides the farther one as a camera would see it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

SHIRTS = ((0.75, 0.15, 0.12), (0.15, 0.55, 0.2), (0.85, 0.75, 0.15), (0.2, 0.3, 0.8))  # red, green, yellow, blue


@dataclass
class Walker:
    """One person's motion in the camera frame (x right, y down, z forward, metres)."""

    rotmats: np.ndarray  # (T, 24, 3, 3) SMPL local rotations, root in camera axes
    pelvis: np.ndarray  # (T, 3); rows with NaN: the person is not in the shot
    shirt: tuple[float, float, float]


def swing_walker(frames: int, start: tuple[float, float], end: tuple[float, float], shirt: tuple[float, float, float],
                 phase: float = 0.0, present: np.ndarray | None = None) -> Walker:
    """A body facing the camera, swinging arms and legs, moving on a straight line (x, z) from
    `start` to `end` over the clip; `present` (T,) bool takes it out of the shot where False."""
    import smplx

    t = np.arange(frames)
    swing = 0.45 * np.sin(2 * np.pi * t / 16 + phase)
    axis_angle = torch.zeros(frames, 24, 3, dtype=torch.float64)
    axis_angle[:, 0] = torch.tensor([np.pi, 0.0, 0.0], dtype=torch.float64)
    axis_angle[:, 1, 0], axis_angle[:, 2, 0] = torch.as_tensor(swing), torch.as_tensor(-swing)
    axis_angle[:, 4, 0] = torch.as_tensor(0.3 + 0.3 * np.abs(swing))
    axis_angle[:, 5, 0] = torch.as_tensor(0.3 + 0.3 * np.abs(swing))
    axis_angle[:, 16, 2], axis_angle[:, 17, 2] = -1.2, 1.2
    axis_angle[:, 16, 1], axis_angle[:, 17, 1] = torch.as_tensor(-swing), torch.as_tensor(-swing)
    rotmats = smplx.lbs.batch_rodrigues(axis_angle.reshape(-1, 3)).reshape(frames, 24, 3, 3).numpy()
    u = t / max(frames - 1, 1)
    x = start[0] + (end[0] - start[0]) * u
    z = start[1] + (end[1] - start[1]) * u
    pelvis = np.stack([x, np.full(frames, 0.2), z], axis=1)
    if present is not None:
        pelvis[~np.asarray(present, bool)] = np.nan
    return Walker(rotmats, pelvis, shirt)


SHIRT_JOINTS = (0, 3, 6, 9, 13, 14, 16, 17)  # pelvis, spine, collars, upper arms: the shirt
TROUSER_JOINTS = (1, 2, 4, 5)  # thighs and shins
TROUSERS, SKIN = (0.25, 0.25, 0.3), (0.8, 0.62, 0.5)


def shirt_colors(body, shirt: tuple[float, float, float]) -> np.ndarray:
    """(F, 3) face colours by each face's dominant skinning joint: shirt, trousers, skin elsewhere."""
    dominant = np.asarray(body.weights).argmax(axis=1)
    table = {**{j: shirt for j in SHIRT_JOINTS}, **{j: TROUSERS for j in TROUSER_JOINTS}}
    vertex_rgb = np.array([table.get(int(j), SKIN) for j in dominant], np.float64)
    return vertex_rgb[np.asarray(body.faces)].mean(axis=1)


def write_crowd_clip(path: Path, walkers: list[Walker], size: tuple[int, int] = (960, 540), focal: float = 800.0,
                     fps: float = 30.0, body=None) -> dict[str, np.ndarray]:
    """Render the walkers to an MJPG .avi; returns per walker the (T, 4) true person boxes (x, y, w, h;
    NaN where out of the shot or hidden by more than half) as "boxes" (W, T, 4), the same boxes also
    where hidden ("placed": NaN only out of the shot) and the joints."""
    from .body import load_body
    from .body.layer import BodyLayer
    from .render import render_mesh
    from .geometry import project

    body = body if body is not None else load_body(None)[0]
    layer = BodyLayer(body).double()
    width, height = size
    colors = [shirt_colors(body, w.shirt) for w in walkers]
    frames = len(walkers[0].pelvis)
    background = np.zeros((height, width, 3), np.uint8)
    background[:] = np.linspace(150, 95, height)[:, None, None].astype(np.uint8)
    boxes = np.full((len(walkers), frames, 4), np.nan)
    placed = np.full((len(walkers), frames, 4), np.nan)
    joints = np.full((len(walkers), frames, 24, 3), np.nan)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    betas = torch.zeros(1, 10, dtype=torch.float64)
    try:
        for t in range(frames):
            image = background
            drawn = []
            for k, walker in enumerate(walkers):
                if np.isnan(walker.pelvis[t]).any():
                    continue
                with torch.no_grad():
                    vertices, posed_joints, _ = layer(betas, torch.as_tensor(walker.rotmats[t:t + 1]))
                root = posed_joints[0, 0].numpy()
                vertices = vertices[0].numpy() - root + walker.pelvis[t]
                joints[k, t] = posed_joints[0, :24].numpy() - root + walker.pelvis[t]
                drawn.append((walker.pelvis[t, 2], k, vertices))
            masks = []
            for depth, k, vertices in sorted(drawn, key=lambda d: -d[0]):  # far to near
                image = render_mesh(vertices, body.faces, image=image, focal=focal, face_colors=colors[k])
                pixels = project(vertices, focal, (width / 2, height / 2))
                lo, hi = pixels.min(axis=0), pixels.max(axis=0)
                masks.append((k, lo, hi))
            for k, lo, hi in masks:  # visible share: the box minus the nearer people's boxes
                box_lo, box_hi = np.clip(lo, 0, (width, height)), np.clip(hi, 0, (width, height))
                area = np.prod(np.maximum(box_hi - box_lo, 0))
                if area <= 0.5 * np.prod(hi - lo):
                    continue  # mostly out of the picture
                placed[k, t] = (*box_lo, *(box_hi - box_lo))
                near = [m for m in masks if walkers[m[0]].pelvis[t, 2] < walkers[k].pelvis[t, 2]]
                hidden = max((np.prod(np.maximum(np.minimum(box_hi, h) - np.maximum(box_lo, l), 0)) for _, l, h in near),
                             default=0.0)
                if hidden <= 0.5 * area:
                    boxes[k, t] = (*box_lo, *(box_hi - box_lo))
            writer.write(image)
    finally:
        writer.release()
    return {"boxes": boxes, "placed": placed, "joints": joints}


def identity_report(index_path: Path, boxes: np.ndarray, placed: np.ndarray | None = None,
                    joints: np.ndarray | None = None, focal: float = 800.0, depth: bool = True) -> dict:
    """Score a multi-person run against the true boxes (W, T, 4) of write_crowd_clip.

    Every valid row of every person file is given to the true person whose box centre is nearest
    the centre of the body it estimated (its 2D joints; within half their box height), among the
    people in the picture (`placed`, also where a nearer person hides them; default `boxes`): a row
    that follows someone mostly hidden is theirs, not the person in front. With the true `joints`
    (W, T, 24, 3, camera frame, filmed with `focal`) a row goes to the person whose joints, as the
    camera sees them, lie nearest its 24 joints on average: where two bodies overlap almost
    entirely (box centres a few pixels apart), the pose tells whose it is. Where the bodies overlap
    on the picture even joint by joint (one passing right in front of the other), the picture cannot
    say whose a row is, but the row's place in depth can: with `depth` (the default) the row goes,
    among the people whose joints lie within the gate on the picture, to the one whose true joints
    lie nearest in 3D (the row's pose at its translation, camera frame). Returns per output
    person the frames given to each true person, the identity switches (changes of true person
    along a track), and per true person the share of the frames they are visible on (`boxes`) where
    some track holds them.
    """
    from . import people_file, results
    from .geometry import project

    index = people_file.read_index(index_path)
    walkers, frames = boxes.shape[:2]
    placed = boxes if placed is None else placed
    centres = placed[..., :2] + placed[..., 2:] / 2
    tracked = np.zeros((walkers, frames), bool)
    people = {}
    for person in index["people"]:
        data = results.read_results(person["path"])
        valid = np.asarray(data.get("raw_valid", data["valid"]), bool)
        labels = []
        joints2d = np.asarray(data.get("raw_joints2d", data["joints2d"]))
        pose = np.asarray(data.get("raw_joints3d", data["joints3d"]))[:, :24]
        in_camera = pose - pose[:, :1] + np.asarray(data["transl"])[:, None]  # the pose at its translation
        for frame, points, body in zip(data["frame_index"][valid], joints2d[valid], in_camera[valid]):
            centre = (points.min(axis=0) + points.max(axis=0)) / 2
            distance = np.linalg.norm(centres[:, frame] - centre, axis=1)
            if joints is not None:  # the mean distance of the joints instead
                seen = project(joints[:, frame], focal, np.asarray(data["principal_pt"])[0])
                distance = np.linalg.norm(seen - points[:24], axis=-1).mean(axis=-1)
                distance[np.isnan(placed[:, frame, 0])] = np.nan
            distance = np.where(np.isnan(distance), np.inf, distance)
            near = distance < 0.5 * np.nan_to_num(placed[:, frame, 3], nan=0.0)  # within the gate on the picture
            k = int(np.argmin(distance))
            if not near[k]:
                continue
            if joints is not None and depth:  # among those near on the picture, the nearest in 3D
                apart = np.linalg.norm(joints[:, frame] - body, axis=-1).mean(axis=-1)
                k = int(np.argmin(np.where(near, apart, np.inf)))
            labels.append(k)
            tracked[k, frame] = True
        labels = np.array(labels, int)
        people[person["number"]] = {"frames_of": np.bincount(labels, minlength=walkers).tolist(),
                                    "switches": int((np.diff(labels) != 0).sum()) if len(labels) else 0}
    visible = ~np.isnan(boxes[..., 0])
    share = ((tracked & visible).sum(1) / np.maximum(visible.sum(1), 1)).tolist()
    return {"people": people, "tracked_share": share,
            "switches": sum(p["switches"] for p in people.values())}
