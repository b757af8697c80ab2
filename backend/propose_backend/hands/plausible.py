"""Does a read hand belong to this person's own arm? A check of MediaPipe's hand reads against the body.

MediaPipe's hand landmarker reads things that are not the person's hands with confidence over 0.5:
on the street clip a patterned bag and a skirt next to a hidden hand, bystanders' hands, and the
hands of someone hugging the performer (docs/hands.md, *False hand reads on footage*). The fingers
would then follow the bag. A read is kept for a side only if it sits on that side's arm as
BlazePose sees it (`belongs`): the cues below were measured on every read of the street clip,
labelled by eye (benchmarks/street_hand_labels.json), and on the real photos' hands.

All lengths are in hand lengths: the hand length `hand_box` expects for the side (from the forearm,
BlazePose's hand points and the torso), so a cue means the same for a hand 20 or 200 px long.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# BlazePose landmark ids per side: elbow, wrist, pinky, index, thumb (as landmarks._BODY_POINTS).
_ARM = {0: (13, 15, 17, 19, 21), 1: (14, 16, 18, 20, 22)}
# The read's knuckles BlazePose's three hand points lie near: pinky, index and thumb bases.
_KNUCKLES = (17, 5, 2)


@dataclass
class ArmFit:
    """How one read hand sits on one side's arm (lengths in expected hand lengths)."""

    size: float  # the read's hand length (wrist to middle knuckle x 2) over the one the arm implies
    bend_deg: float  # angle in the picture between the forearm (elbow to wrist) and the read's palm
    forearm: float  # BlazePose's forearm in the picture (short: the arm points at or away from the camera)
    wrist_seen: float  # BlazePose's visibility of the wrist
    gap: float  # the read's wrist to BlazePose's wrist


def arm_fit(pixels: np.ndarray, pose_pixels: np.ndarray, h: int, hand_px: float, wide: bool = False) -> ArmFit:
    """pixels (21, 2): a read hand in image pixels; pose_pixels (33, 3): BlazePose x, y, visibility;
    h: the side (0 left, 1 right); hand_px: the hand length the side's crop was cut for; wide: the read
    came from a search round the arm's reach because BlazePose's wrist is wrong, so the forearm is taken
    from BlazePose's elbow to the read's own wrist (gap 0, wrist seen)."""
    elbow, wrist = pose_pixels[_ARM[h][0]], pose_pixels[_ARM[h][1]]
    if wide:
        wrist = np.array([pixels[0, 0], pixels[0, 1], 1.0])
    length = max(float(hand_px), 1.0)
    palm = pixels[9] - pixels[0]
    along = wrist[:2] - elbow[:2]
    cos = float(palm @ along) / max(float(np.linalg.norm(palm) * np.linalg.norm(along)), 1e-9)
    return ArmFit(size=2.0 * float(np.linalg.norm(palm)) / length, bend_deg=float(np.degrees(np.arccos(np.clip(cos, -1, 1)))),
                  forearm=float(np.linalg.norm(along)) / length, wrist_seen=float(wrist[2]),
                  gap=float(np.linalg.norm(pixels[0] - wrist[:2])) / length)


# A read hand this many times longer than the hand the arm implies is something else (a bag, a
# skirt): the performer's own hands read 0.26-1.18 of it on the street clip, 0.59-1.32 on the real
# photos and at most 1.47 on the rendered benchmark (60 frames, 111 hands), the bag up to 3.8.
MAX_SIZE = 1.6
# The palm turns off the forearm's line in the picture by at most this much: a wrist flexes ~80 deg
# and extends ~70 deg, and on the rendered benchmark every own hand on a forearm at least
# SURE_FOREARM long bends under 90 deg (the one at 166 deg is the other hand, read in the wrong
# crop). Own hands bend at most 37 deg on the street clip and 31 deg on the photos.
MAX_BEND_DEG = 100.0
# ... checked only where the forearm is at least this many hand lengths in the picture: shorter, it
# points at or away from the camera and its direction in the picture says little (rendered own
# hands on such forearms bend up to 177 deg).
SURE_FOREARM = 0.6
# An arm reaching behind something: BlazePose barely sees the wrist (visibility under HIDDEN_WRIST)
# and its forearm is foreshortened to under REACHING_FOREARM hand lengths. On the street clip this is
# the performer's arm round her partner during the hug; every read there (28 of them, frames
# 66-96 and 143) is the partner's hand on her back or the skirt. Her own hands read on a wrist
# seen under 0.5 had forearms of 0.74 hand lengths or more (frames 176-181, holding a bag).
HIDDEN_WRIST = 0.5
REACHING_FOREARM = 0.65
# A read's wrist at most this many hand lengths from BlazePose's: own hands lie at most 0.61 away on
# the rendered benchmark, 0.49 on the street clip and 1.21 on the photos (294's left hand, where
# BlazePose's wrist falls short of the real one, seen 0.24); the bag's reads lie 1.2-1.8 away and
# bystanders' and the partner's hanging hands up to 3 (the crops' own limit, 0.6 CROP_SCALE).
MAX_GAP = 1.5


def belongs(pixels: np.ndarray, pose_pixels: np.ndarray, h: int, hand_px: float, wide: bool = False) -> bool:
    """Whether a read hand (pixels (21, 2)) can be side h's own hand, by `arm_fit`'s cues and the
    limits above (each constant says where its value came from)."""
    fit = arm_fit(pixels, pose_pixels, h, hand_px, wide)
    if fit.size > MAX_SIZE or fit.gap > MAX_GAP:
        return False
    if fit.forearm >= SURE_FOREARM and fit.bend_deg > MAX_BEND_DEG:
        return False
    return not (fit.wrist_seen < HIDDEN_WRIST and fit.forearm < REACHING_FOREARM)
