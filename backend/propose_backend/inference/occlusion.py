"""Who hides whom: the rows of an everyone run where a person stood mostly behind someone nearer.

A person walking behind another is still read in their crop, and BlazePose places every landmark,
also those the nearer body covers: it guesses them from what shows (often folding the hidden
legs up into the visible part, or taking the nearer person's stride for theirs). On the crossing
clip those guesses were most of the occluded walker's error beyond their run alone: the rows
where more than half of them was behind someone held 600-860 mm errors at the feet
(docs/performance.md, "Several people"). Marking only the covered landmarks unseen does not help:
the estimate puts the hidden limbs where they are NOT covered, and instant mode keeps a floor of
a hidden landmark's direction anyway (tried: the walkers' ratios moved +0.01/-0.01 and one row
came out upside down).

So at the end of a run, with every person's rows known, a row is kept as seen only where
at most HIDDEN_SHARE of the place the person should fill is covered by a nearer person's body:
the rest become frames the person was not seen on (valid False, as a frame the tracker lost them
on), which the smoother bridges from the frames around (gaps up to half a second, temporal.md).
The tracking itself is left exactly as it was: who is who, the read-backs and every other row.
The place a person should fill is taken from their crop (the tracker's box for them, centred where
they were expected and sized from the body followed), not from the row's own 2D points, which the
guessed limbs pull out of the covered part; the nearer body is the box round its 2D points.
A person whose every seen row is covered keeps them as read: there is no seen frame to bridge
from, and a file without one cannot be animated (its body is fitted to its seen rows). On a photo
that is each person's one row, and the nearer body's box is often wide (an arm held out) over
someone beside them who shows plainly (photo 241).
A single-person run follows one person and has nobody to compare with: it is not touched.
"""
from __future__ import annotations

import numpy as np

from .. import results
from .crop import BOX_SCALE
from .detect import box_from_points

# A row whose person's place is covered more than this by a nearer person's body is not kept as
# seen (the crossing clip's truth calls a person visible while at most half their box is covered
# by nearer boxes; a body's box is wider than the body, so the line sits higher here).
HIDDEN_SHARE = 0.8
# A person's box is about this wide for their height (standing or walking; a stride or spread arms
# are wider, and then a nearer body covers less of it).
BODY_ASPECT = 0.4
# A body counts as in front of a person when its pelvis is at least this much nearer the camera
# (two estimates of one body differ by less; people at about the same distance stand side by side).
NEARER_BY_M = 0.3
# What a row keeps when it is marked unseen (everything else is reset as on a frame without the person).
KEPT_FIELDS = ("frame_index", "focal_px", "principal_pt")


def place(crop: np.ndarray) -> tuple[float, float, float, float]:
    """(x, y, w, h) the place a person should fill in their crop (x, y, side, side): the crop is
    their body's longer side enlarged by BOX_SCALE round its centre."""
    x, y, side = (float(v) for v in crop[:3])
    height = side / BOX_SCALE
    width = BODY_ASPECT * height
    return (x + side / 2 - width / 2, y + side / 2 - height / 2, width, height)


def covered_share(box: tuple[float, float, float, float], others: list[np.ndarray]) -> float:
    """The largest share of `box` (x, y, w, h) one of the bodies `others` (2D points each) covers."""
    x, y, w, h = box
    share = 0.0
    for points in others:
        ox, oy, ow, oh = box_from_points(points)
        across = max(0.0, min(x + w, ox + ow) - max(x, ox))
        down = max(0.0, min(y + h, oy + oh) - max(y, oy))
        share = max(share, across * down / max(w * h, 1e-9))
    return share


def hide_covered(people: dict[int, dict[str, np.ndarray]]) -> dict[int, dict[str, np.ndarray]]:
    """In place (and returned): every person's rows (results fields, camera frame, unsmoothed)
    where more than HIDDEN_SHARE of their place is covered by a person nearer the camera on that
    frame become rows they were not seen on (see the module docstring), unless that would leave the
    person no row seen at all."""
    seen: dict[int, list[tuple[np.ndarray, float]]] = {}  # by frame: (2D points, depth) of each person seen
    for data in people.values():
        for row in np.flatnonzero(np.asarray(data["valid"], bool)):
            points = np.asarray(data["joints2d"][row], np.float64)
            if np.isfinite(points).all():
                seen.setdefault(int(data["frame_index"][row]), []).append((points, float(data["transl"][row][2])))
    for data in people.values():
        hidden = []
        for row in np.flatnonzero(np.asarray(data["valid"], bool)):
            depth = float(data["transl"][row][2])
            nearer = [p for p, d in seen.get(int(data["frame_index"][row]), []) if d < depth - NEARER_BY_M]
            if nearer and covered_share(place(np.asarray(data["bbox"][row])), nearer) > HIDDEN_SHARE:
                hidden.append(row)
        if hidden and len(hidden) < int(np.count_nonzero(data["valid"])):  # some seen row left to bridge from
            blank = results.empty_frames(len(hidden), np.shape(data["samples"])[1], hands="hand_valid" in data)
            for name, value in blank.items():
                if name in data and name not in KEPT_FIELDS:
                    data[name][hidden] = value
            if "identity_confidence" in data:
                data["identity_confidence"][hidden] = 0.0
    return people
