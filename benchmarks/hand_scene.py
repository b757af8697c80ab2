"""Pictures of the licence-free body with known finger poses, for benchmarks and tests (benchmark
support code: the product never draws these).

The Anny body is skinned over its 54 joints (SMPL's 24 and the 30 finger joints, with the finger
skinning of hands/rest.py) and drawn by the project's CPU renderer (render.py), so a hand pose
that goes in is exactly the pose the hand landmarker sees.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from clothing import clothed_face_colors
from propose_backend.body.anny_body import DEFAULT_PHENOTYPE, anny_body, fitted_rest_geometry
from propose_backend.geometry import axis_angle_to_matrix, matrix_to_axis_angle, project
from propose_backend.render import render_mesh
from propose_backend.skeleton import (HAND_JOINT_LANDMARKS, NUM_FINGER_JOINTS, NUM_HAND_LANDMARKS, NUM_SMPL_JOINTS,
                                      RIG_PARENTS)

SMPL_TO_CAMERA = np.diag([1.0, -1.0, -1.0])  # y up, facing +z  ->  y down, facing the camera


@dataclass(frozen=True)
class Scene:
    """A camera for rendered frames: image size (width, height) and focal length in pixels."""

    width: int = 720
    height: int = 960
    focal: float = 900.0


@lru_cache(maxsize=1)
def rest_body() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(the Anny body's rest geometry with its finger joints and skinning, clothing colours per face)."""
    rest = fitted_rest_geometry(DEFAULT_PHENOTYPE)
    ids = anny_body().extra_vertex_ids
    colors = clothed_face_colors(rest["rest_vertices"], rest["faces"], rest["lbs_weights"], eyes=(ids[1], ids[2]),
                                 nose=ids[0])
    return rest, colors


def chain(rest: dict[str, np.ndarray], local: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(world rotations (54, 3, 3), posed joints (54, 3), rest joints (54, 3)) of local rotations
    (54, 3, 3), pelvis at 0."""
    joints = np.concatenate([rest["rest_joints"], rest["hand_rest_joints"]]).astype(np.float64)
    G = np.zeros((54, 3, 3))
    p = np.zeros((54, 3))
    for j in range(54):
        parent = RIG_PARENTS[j]
        if parent < 0:
            G[j] = local[j]
        else:
            G[j] = G[parent] @ local[j]
            p[j] = p[parent] + G[parent] @ (joints[j] - joints[parent])
    return G, p, joints


def posed(rest: dict[str, np.ndarray], local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (V, 3), joints (54, 3)) posed by 54-joint linear blend skinning, pelvis at 0.

    local: (54, 3, 3) local rotations; the root's carries the body into the frame wanted."""
    G, p, joints = chain(rest, local)
    v = rest["rest_vertices"].astype(np.float64)
    moved = np.einsum("jab,vb->vja", G, v) - np.einsum("jab,jb->ja", G, joints)[None] + p[None]
    return np.einsum("vj,vja->va", rest["rig_lbs_weights"].astype(np.float64), moved), p


def render(local: np.ndarray, distance: float, scene: Scene = Scene(), background: tuple[int, int, int] = (150, 150, 150),
           sideways: float = 0.0, smooth: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(BGR image, pixels (54, 2) of the joints) of the body in pose `local` (root in camera axes),
    its pelvis `distance` metres in front of the camera and `sideways` metres to the right; `smooth`:
    shaded smoothly (smooth_shading.py) instead of the project's flat-shaded faces."""
    rest, colors = rest_body()
    vertices, joints = posed(rest, local)
    shift = np.array([sideways, 0.1, distance])
    canvas = np.empty((scene.height, scene.width, 3), np.uint8)
    canvas[:] = background
    if smooth:
        from smooth_shading import render_smooth

        image = render_smooth(vertices + shift, rest["faces"], canvas, scene.focal, colors)
    else:
        image = render_mesh(vertices + shift, rest["faces"], image=canvas, focal=scene.focal, face_colors=colors)
    return image, project(joints + shift, scene.focal, (scene.width / 2, scene.height / 2))


def hand_points(local: np.ndarray, distance: float, rest_hands: np.ndarray, sideways: float = 0.0) -> np.ndarray:
    """(2, 21, 3) the true hand landmarks (MediaPipe's order) of `render(local, distance, sideways=)` in camera
    axes: the wrist and finger joints, and the fingertips carried by their last bone from the rest
    hand `rest_hands` (2, 21, 3) (the body's own, Anny's hand_rest)."""
    rest, _ = rest_body()
    G, p, joints = chain(rest, local)
    out = np.zeros((2, NUM_HAND_LANDMARKS, 3))
    for h in range(2):
        base = NUM_SMPL_JOINTS + NUM_FINGER_JOINTS * h
        out[h, 0] = p[20 + h]
        for j in range(NUM_FINGER_JOINTS):
            at = HAND_JOINT_LANDMARKS[j + 1]
            out[h, at] = p[base + j]
            if j % 3 == 2:  # the fingertip beyond the last joint
                out[h, at + 1] = p[base + j] + G[base + j] @ (rest_hands[h, at + 1] - joints[base + j])
    return out + np.array([sideways, 0.1, distance])


def random_arms_forward(rng: np.random.Generator, yaw: float, shoulder: tuple[float, float], elbow: float,
                        wrist: float) -> np.ndarray:
    """(24, 3, 3) local body rotations: facing the camera turned by up to `yaw` radians, both arms
    forward with the shoulders' swing and lift spread by `shoulder`, the elbows' flex by `elbow`,
    the wrists turned at random by `wrist` (all normal spreads, radians); the rest near zero."""
    aa = rng.normal(scale=0.08, size=(24, 3))
    aa[0] = matrix_to_axis_angle(SMPL_TO_CAMERA @ axis_angle_to_matrix(np.array([0.0, rng.uniform(-yaw, yaw), 0.0])))
    aa[16] = (0.0, -0.9 + rng.normal(scale=shoulder[0]), -0.7 + rng.normal(scale=shoulder[1]))
    aa[17] = (0.0, 0.9 + rng.normal(scale=shoulder[0]), 0.7 + rng.normal(scale=shoulder[1]))
    aa[18] = (0.0, -1.4 + rng.normal(scale=elbow), 0.0)
    aa[19] = (0.0, 1.4 + rng.normal(scale=elbow), 0.0)
    aa[[20, 21]] = rng.normal(scale=wrist, size=(2, 3))
    aa[[22, 23]] = 0.0
    return axis_angle_to_matrix(aa)


def arms_forward(swing: float, left_flex: float = -0.9, right_flex: float = 0.9) -> np.ndarray:
    """(54, 3, 3) local rotations: facing the camera, both arms swung forward by `swing` radians
    (beyond ~1.2 the hands cross, the right arm a little lower), elbows flexed, fingers at rest."""
    aa = np.zeros((54, 3))
    aa[0] = matrix_to_axis_angle(SMPL_TO_CAMERA)
    aa[16], aa[17] = (0.0, -swing, -0.45), (0.0, swing, 0.75)
    aa[18], aa[19] = (0.0, left_flex, 0.0), (0.0, right_flex, 0.0)
    return axis_angle_to_matrix(aa)
