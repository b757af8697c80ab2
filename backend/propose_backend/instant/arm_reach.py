"""The body's arm onto a hand found away from BlazePose's wrist (instant mode, stills).

On a photo the hand landmarker looks over an arm's whole reach for a hand its crop, cut round
BlazePose's wrist, missed (hands/landmarks.py, look_wider). Such a hand shows that BlazePose's wrist
is wrong: photo 395's left wrist sits on the man's chest while his hand holds a phone to his ear.
The fingers come from the found hand, and so should the arm that carries it: otherwise the hand,
fingers curled round the phone, hangs in front of his belly. BlazePose's elbow is kept and its wrist
(with its three hand points) is moved onto the found wrist's ray, at the forearm's own length from
the elbow, so the body's solve bends the arm up to the hand.
"""
from __future__ import annotations

import numpy as np

from .mapping import BP

# BlazePose's elbow, then the wrist and its hand points (pinky, index, thumb), per side (0 left, 1 right)
_ARMS = {h: (BP[f"{side}_elbow"], BP[f"{side}_wrist"], BP[f"{side}_pinky"], BP[f"{side}_index"], BP[f"{side}_thumb"])
         for h, side in enumerate(("left", "right"))}
# ... and the read hand's landmarks they stand for: wrist, pinky and index knuckles, thumb's base
_READ_POINTS = [0, 17, 5, 2]


def arms_to_found_hands(world: np.ndarray, placed: np.ndarray, hands, turn: np.ndarray,  # noqa: ANN001
                        focal: float, principal: tuple[float, float]) -> None:
    """In place: for each hand a still's wider look found (hands.wide), the arm's wrist moved onto the
    ray through the found wrist, at BlazePose's forearm length from its elbow, and its hand points
    onto the read hand's knuckles round it (the read's metric landmarks, camera axes). Of the two such points, the one nearer BlazePose's own wrist in depth; where the
    forearm cannot reach the ray (BlazePose's elbow is off too), the nearest point it can reach.
    world (B, 33, 3): BlazePose's landmarks in its crop view (the solve's input); placed (B, 33, 3):
    the same points in the camera (metres); turn (B, 3, 3): crop view to camera (crop_turn)."""
    if hands.wide is None:
        return
    for k, h in zip(*np.nonzero(hands.wide & (hands.gain > 0))):
        elbow, wrist, *points = _ARMS[int(h)]
        e, w = placed[k, elbow], placed[k, wrist]
        forearm = float(np.linalg.norm(w - e))
        ray = np.array([(hands.pixels[k, h, 0, 0] - principal[0]) / focal,
                        (hands.pixels[k, h, 0, 1] - principal[1]) / focal, 1.0])
        ray /= np.linalg.norm(ray)
        along = float(ray @ e)
        room = along ** 2 - float(e @ e) + forearm ** 2
        if room >= 0.0:
            depths = along + np.array([-1.0, 1.0]) * np.sqrt(room)
            target = depths[np.argmin(np.abs(depths * ray[2] - w[2]))] * ray
        else:
            nearest = along * ray - e
            target = e + forearm * nearest / max(float(np.linalg.norm(nearest)), 1e-9)
        moved = [wrist, *points]
        shift = target + hands.world[k, h, _READ_POINTS] - placed[k, moved]  # (4, 3), the hand as read
        placed[k, moved] += shift
        world[k, moved] += shift @ turn[k]  # each row turned back into the crop view
