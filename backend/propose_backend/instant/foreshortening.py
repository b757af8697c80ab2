"""Instant mode: the legs' depth held to the picture where BlazePose's depth overreaches.

BlazePose's image landmarks sit within a few pixels of the true joints, but its metric "world"
landmarks guess each point's depth from a single crop, and on a walker the legs' depth is where
that guess is worst: seen from the side, the knees and ankles came out 22-23 cm apart along the
camera's depth against a true 14 cm (benchmarks/bench_temporal_walk.py renders). The picture
pins each leg bone's depth up to a sign: with its upper end placed in the camera and its length
known, its lower end lies on the ray through its image landmark, at one of the two points that
length away. Where BlazePose puts the lower end beyond both (the bone stretched along its ray
past its length), it is moved to the nearer one. Where BlazePose's point lies between them, the
bone is left as BlazePose gives it: choosing a side there is a guess, and taking BlazePose's
side with the picture's full depth made random poses' legs worse (docs/instant-mode.md). The
length is the median of that bone over the latest LENGTH_WINDOW source frames (the phenotype fit's
evidence), not over the whole clip so far: a clip estimated in pieces (batch/plan.py) then reads
the same lengths on every kept frame as the clip estimated in one go, and the pieces join
without a seam.
"""
from __future__ import annotations

import numpy as np

from .mapping import BP

# Parent landmark -> child landmark, root first (a corrected knee carries its ankle with it).
LEG_BONES = (("left_hip", "left_knee", "thigh"), ("left_knee", "left_ankle", "shin"),
             ("right_hip", "right_knee", "thigh"), ("right_knee", "right_ankle", "shin"))
# Landmarks that move rigidly with the ankle (the foot is not re-read).
FOOT = {"left_ankle": ("left_heel", "left_foot_index"), "right_ankle": ("right_heel", "right_foot_index")}
# Both ends of a bone must be seen at least this clearly: an occluded landmark's pixel is as much
# a guess as its depth, and then BlazePose's own bone stands.
MIN_VISIBILITY = 0.5
# Source frames a bone's length is taken over: no more than a batch piece's warm-up (batch/plan.py WARMUP).
LENGTH_WINDOW = 16


def leg_depth_from_picture(points: np.ndarray, pixels: np.ndarray, visibility: np.ndarray,
                           lengths: dict[str, float | np.ndarray], focal: float,
                           principal: tuple[float, float]) -> np.ndarray:
    """(N, 33, 3) the landmarks with the knees, ankles and feet moved along their own image rays.

    points: (N, 33, 3) landmarks placed in the camera (metres, z forward), pixels: (N, 33, 2),
    visibility: (N, 33); lengths: lengths of "thigh" and "shin" (metres, one or one per frame; a
    bone absent from it, or NaN on a frame, keeps that frame's own length). Each child lands where its ray is the bone's length from
    its (already corrected) parent, the one nearer BlazePose's point, if BlazePose's point lies
    beyond both along the ray; where the ray passes farther than that (a pixel or length error),
    at the ray's nearest point. Any other bone, and one not seen clearly, keeps BlazePose's own
    direction and length from its moved parent.
    """
    out = np.array(points, dtype=np.float64)
    n = len(out)
    ray = np.concatenate([(np.asarray(pixels, np.float64) - np.asarray(principal, np.float64)) / focal,
                          np.ones((n, pixels.shape[1], 1))], axis=-1)
    for parent, child, bone in LEG_BONES:
        ip, ic = BP[parent], BP[child]
        seen_bone = points[:, ic] - points[:, ip]
        own = np.linalg.norm(seen_bone, axis=-1)
        length = np.broadcast_to(np.asarray(lengths.get(bone, np.nan), np.float64), (n,))
        length = np.where(np.isfinite(length), length, own)
        top, r = out[:, ip], ray[:, ic]
        # |s r - top| = length:  s² |r|² - 2 s r·top + |top|² - length² = 0
        a, b = (r * r).sum(-1), (r * top).sum(-1)
        half = np.sqrt(np.maximum(b * b - a * ((top * top).sum(-1) - length ** 2), 0.0))
        near, far = (b - half) / a, (b + half) / a
        wanted = top + seen_bone  # BlazePose's bone hung from the corrected parent: picks the sign
        pick = np.where(np.linalg.norm(near[:, None] * r - wanted, axis=-1)
                        <= np.linalg.norm(far[:, None] * r - wanted, axis=-1), near, far)
        along = (wanted * r).sum(-1) / a  # BlazePose's point, as far along the ray
        beyond = (along < near) | (along > far)  # farther from the parent than the bone reaches
        use = (np.minimum(visibility[:, ip], visibility[:, ic]) >= MIN_VISIBILITY) & (pick > 0) & beyond
        shift = np.where(use[:, None], pick[:, None] * r, wanted) - out[:, ic]  # unseen: BlazePose's bone
        out[:, ic] += shift
        for extra in FOOT.get(child, ()):
            out[:, BP[extra]] += shift
    return out


__all__ = ["LEG_BONES", "LENGTH_WINDOW", "MIN_VISIBILITY", "leg_depth_from_picture"]
