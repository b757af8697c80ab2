"""BlazePose's 33 landmarks onto the ProPose skeleton, extended by hand and shoulder points.

Instant mode feeds bone directions from BlazePose into the same analytical posterior the
network uses. The 43-point skeleton here is the 35-point ProPose skeleton followed by the
pinky, index and thumb points of each hand, which hang off the wrists, and the two shoulders
seen from the pelvis, which let the clearly visible upper body steady the pelvis orientation
when the hips are barely in view (they assume a spine near its rest shape, so they count less). Points BlazePose does
not see directly (pelvis, spine, neck, collars, head centre, hand centre, ball of the foot) are
derived from those it does and count as less reliable; the small toes have no landmark at all.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..skeleton import MULTI_CHILD, NUM_POINTS, PARENTS, SINGLE_CHILD

# BlazePose landmark indices (MediaPipe Pose, 33 points; left/right from the person's view).
BP = {name: i for i, name in enumerate((
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
))}
NUM_LANDMARKS = 33

HAND_POINTS = ("left_pinky", "left_index", "left_thumb", "right_pinky", "right_index", "right_thumb")
PELVIS_SHOULDERS = (NUM_POINTS + len(HAND_POINTS), NUM_POINTS + len(HAND_POINTS) + 1)  # 41, 42
NUM_INSTANT_POINTS = NUM_POINTS + len(HAND_POINTS) + len(PELVIS_SHOULDERS)  # 43
INSTANT_PARENTS: tuple[int, ...] = PARENTS + (20, 20, 20, 21, 21, 21, 0, 0)

# Points read straight from one landmark.
DIRECT: dict[int, str] = {
    1: "left_hip", 2: "right_hip", 4: "left_knee", 5: "right_knee", 7: "left_ankle", 8: "right_ankle",
    16: "left_shoulder", 17: "right_shoulder", 18: "left_elbow", 19: "right_elbow",
    20: "left_wrist", 21: "right_wrist",
    24: "nose", 25: "right_eye", 26: "left_eye", 27: "right_ear", 28: "left_ear",
    29: "left_foot_index", 31: "left_heel", 32: "right_foot_index", 34: "right_heel",
    **{NUM_POINTS + k: name for k, name in enumerate(HAND_POINTS)},
}
ABSENT = (30, 33)  # small toes: BlazePose has no landmark there
# Derived points are weighted down in the posterior by this factor (they are model guesses).
DERIVED_WEIGHT = 0.5

# Which observed points constrain which joint in instant mode. Compared with the network's
# roles, the wrists use the hand points and the ankles use toe and heel, so that twist is
# constrained where BlazePose sees it; the feet and hands themselves stay prior-only.
INSTANT_CHILDREN: dict[int, tuple[int, ...]] = {
    0: (1, 2, 3, *PELVIS_SHOULDERS), **{j: (c,) for j, c in SINGLE_CHILD.items()}, **MULTI_CHILD,
    7: (29, 31), 8: (32, 34), 20: (35, 36, 37), 21: (38, 39, 40),
}


def instant_children(joint: int) -> tuple[int, ...]:
    return INSTANT_CHILDREN.get(joint, ())


@dataclass
class SkeletonObservation:
    """Observed instant-mode skeleton: points (N, 43, 3) and reliability weights (N, 43) in [0, 1]."""

    points: np.ndarray
    weight: np.ndarray


@dataclass(frozen=True)
class DerivationFractions:
    """Where the derived points sit between landmarks, measured on the body model's rest skeleton.

    BlazePose's hip landmarks are wider and lower relative to the pelvis than SMPL's hip joints,
    so a pelvis at the plain mid-hip point would tilt every pelvis-to-hip bone; measuring the
    fractions on the rest skeleton makes the observed and rest bones comparable.
    """

    torso: tuple[float, float, float, float, float]  # pelvis, spine1, spine2, spine3, neck on mid-hip -> mid-shoulder
    collar: float  # on neck -> shoulder
    head: float  # on neck -> mid-ears
    foot: float  # ball of the foot on heel -> big toe

    @staticmethod
    def from_rest(rest35: np.ndarray) -> "DerivationFractions":
        r = np.asarray(rest35, dtype=np.float64).reshape(-1, 3)

        def along(point: np.ndarray, start: np.ndarray, end: np.ndarray) -> float:
            axis = end - start
            return float((point - start) @ axis / (axis @ axis))

        mid_hip, mid_shoulder = (r[1] + r[2]) / 2, (r[16] + r[17]) / 2
        torso = tuple(along(r[j], mid_hip, mid_shoulder) for j in (0, 3, 6, 9, 12))
        return DerivationFractions(
            torso=torso,  # type: ignore[arg-type]
            collar=along(r[13], r[12], r[16]),
            head=along(r[15], r[12], (r[27] + r[28]) / 2),
            foot=along(r[10], r[31], r[29]),
        )


def landmarks_to_skeleton(world: np.ndarray, visibility: np.ndarray,
                          fractions: DerivationFractions) -> SkeletonObservation:
    """Map BlazePose world landmarks (N, 33, 3, metres) and visibility (N, 33) to 43 points.

    The result is root-relative (pelvis at the origin) in BlazePose's camera-aligned axes.
    """
    world = np.asarray(world, dtype=np.float64)
    vis = np.clip(np.asarray(visibility, dtype=np.float64), 0, 1)
    n = world.shape[0]
    pts = np.zeros((n, NUM_INSTANT_POINTS, 3))
    w = np.zeros((n, NUM_INSTANT_POINTS))

    def lm(name: str) -> tuple[np.ndarray, np.ndarray]:
        return world[:, BP[name]], vis[:, BP[name]]

    for point, name in DIRECT.items():
        pts[:, point], w[:, point] = lm(name)

    def derive(point: int, value: np.ndarray, *sources: np.ndarray) -> None:
        pts[:, point] = value
        w[:, point] = DERIVED_WEIGHT * np.min(np.stack(sources), axis=0)

    (lh, vlh), (rh, vrh) = lm("left_hip"), lm("right_hip")
    (ls, vls), (rs, vrs) = lm("left_shoulder"), lm("right_shoulder")
    mid_hip, mid_shoulder = (lh + rh) / 2, (ls + rs) / 2
    torso = (vlh, vrh, vls, vrs)
    for point, fraction in zip((0, 3, 6, 9, 12), fractions.torso):
        derive(point, mid_hip + fraction * (mid_shoulder - mid_hip), *torso)
    derive(PELVIS_SHOULDERS[0], ls, vls)
    derive(PELVIS_SHOULDERS[1], rs, vrs)
    neck = pts[:, 12]
    derive(13, neck + fractions.collar * (ls - neck), vls, vrs)
    derive(14, neck + fractions.collar * (rs - neck), vls, vrs)
    (le, vle), (re, vre) = lm("left_ear"), lm("right_ear")
    derive(15, neck + fractions.head * ((le + re) / 2 - neck), vle, vre, vls, vrs)
    for hand, side in ((22, "left"), (23, "right")):
        (pk, vpk), (ix, vix) = lm(f"{side}_pinky"), lm(f"{side}_index")
        derive(hand, (pk + ix) / 2, vpk, vix)
    for foot, side in ((10, "left"), (11, "right")):
        (heel, vh), (toe, vt) = lm(f"{side}_heel"), lm(f"{side}_foot_index")
        derive(foot, heel + fractions.foot * (toe - heel), vh, vt)
    pts -= pts[:, :1]
    w[:, list(ABSENT)] = 0.0
    return SkeletonObservation(points=pts, weight=w)


# Rest positions of the hand points relative to the wrist, in SMPL's rest frame for the left
# hand (T-pose: arm along +x, palm down, thumb forward), as fractions of the forearm length.
# SMPL's rest template has no landmark for them, so these are anatomical averages.
_HAND_REST_OFFSETS = np.array([
    (0.36, -0.01, -0.10),  # pinky knuckle
    (0.40, 0.0, 0.09),     # index knuckle
    (0.22, -0.05, 0.17),   # thumb
])


def instant_rest_points(rest35: np.ndarray) -> np.ndarray:
    """Extend a (N, 35, 3) SMPL-frame rest skeleton with hand and shoulder points -> (N, 43, 3)."""
    rest35 = np.asarray(rest35)
    extra = []
    for wrist, elbow, sign in ((20, 18, 1.0), (21, 19, -1.0)):
        forearm = np.linalg.norm(rest35[:, wrist] - rest35[:, elbow], axis=-1)[:, None, None]
        offsets = _HAND_REST_OFFSETS * np.array([sign, 1.0, 1.0])
        extra.append(rest35[:, wrist, None] + forearm * offsets[None])
    return np.concatenate([rest35, *extra, rest35[:, [16, 17]]], axis=1)
