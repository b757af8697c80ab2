"""The crowd tracker on drawn people: who is who through a crossing, a re-found person, newcomers.

The people are coloured boxes on a plain picture; the "estimator" sees, in each crop, the nearest
person whose middle lies inside it (as BlazePose takes the most prominent body in a crop), so the
tracker must sort out crossings on its own evidence. Fast: no rendering, no network.
"""
from __future__ import annotations

import numpy as np

from propose_backend.inference.crop import ImageCamera
from propose_backend.inference.appearance import appearance_distance, torso_histogram
from propose_backend.inference.crowd import CrowdTracker
from propose_backend.inference.detect import Detection
from propose_backend.inference.footage import Frame

SIZE = (640, 360)
CAMERA = ImageCamera.for_image(*SIZE, focal_px=500.0)
COLOURS = {0: (40, 40, 200), 1: (40, 180, 40), 2: (200, 60, 40)}  # BGR: red, green, blue shirts


def people_at(t: int, paths: dict[int, tuple]) -> dict[int, tuple[float, float, float, float, float]]:
    """Person -> (x, y, w, h, depth m) at frame t; a path is (x0, x1, depth, present(t)), x0 and x1
    the box centre at frames 0 and 40, or (x(t), None, depth, present(t))."""
    out = {}
    for k, (x0, x1, depth, present) in paths.items():
        if present(t):
            h = 1.7 * CAMERA.focal_px / depth
            x = (x0(t) if callable(x0) else x0 + (x1 - x0) * t / 40)
            out[k] = (x - 0.2 * h, 180 - 0.5 * h, 0.4 * h, h, depth)
    return out


def picture(people: dict) -> np.ndarray:
    image = np.full((SIZE[1], SIZE[0], 3), 120, np.uint8)
    for k, (x, y, w, h, _) in sorted(people.items(), key=lambda p: -p[1][4]):  # far to near
        x0, y0, x1, y1 = (int(max(0, v)) for v in (x, y, x + w, y + h))
        image[y0:y1, x0:x1] = (60, 60, 60)  # trousers, head: grey
        image[y0 + int(0.2 * h):y0 + int(0.5 * h), x0:x1] = COLOURS[k]  # the torso
    return image


def visible(people: dict) -> list[int]:
    """People at least half uncovered by nearer ones and inside the picture, nearest first."""
    out = []
    for k, (x, y, w, h, d) in sorted(people.items(), key=lambda p: p[1][4]):
        covered = max((max(0.0, min(x + w, ox + ow) - max(x, ox)) for j, (ox, oy, ow, oh, od) in people.items()
                       if od < d), default=0.0)
        if covered < 0.5 * w and 0 < x + w / 2 < SIZE[0]:
            out.append(k)
    return out


def run(paths: dict, frames: int = 41) -> tuple[CrowdTracker, dict[int, dict[int, int]]]:
    """Track; returns the tracker and, per track number, {frame: true person seen}."""
    state = {}

    def find(image):
        return [Detection(people_at(state["t"], paths)[k][:4], 1.0, "test") for k in visible(state["current"])]

    tracker = CrowdTracker(find, CAMERA, SIZE, redetect_every=10)
    seen: dict[int, dict[int, int]] = {}
    for t in range(frames):
        current = people_at(t, paths)
        state.update(t=t, current=current)
        frame = Frame(t, picture(current))
        placements = tracker.propose(frame)
        joints, transl, valid, who = [], [], [], []
        for p in placements:
            inside = [k for k in sorted(current, key=lambda k: current[k][4])
                      if abs(current[k][0] + current[k][2] / 2 - p.box.cx) < p.box.side / 2
                      and abs(current[k][1] + current[k][3] / 2 - p.box.cy) < p.box.side / 2]
            k = inside[0] if inside else None
            who.append(k)
            if k is None:
                joints.append(np.full((35, 2), np.nan)), transl.append(np.zeros(3)), valid.append(False)
                continue
            x, y, w, h, d = current[k]
            grid = np.stack(np.meshgrid(np.linspace(x + 0.1 * w, x + 0.9 * w, 5),
                                        np.linspace(y + 0.09 * h, y + 0.91 * h, 7)), -1).reshape(-1, 2)
            joints.append(grid)
            transl.append(np.array([(x + w / 2 - SIZE[0] / 2) * d / CAMERA.focal_px, 0.0, d]))
            valid.append(True)
        estimated = {"joints2d": np.array(joints), "transl": np.array(transl), "valid": np.array(valid)} \
            if placements else None
        ok, confidence = tracker.observe(frame, placements, estimated)
        for p, k, good in zip(placements, who, ok):
            if good:
                seen.setdefault(p.number, {})[t] = k
    return tracker, seen


def test_torso_colours_tell_people_apart():
    image = picture(people_at(0, {0: (100, 100, 5.0, lambda t: True), 1: (400, 400, 5.0, lambda t: True)}))
    boxes = people_at(0, {0: (100, 100, 5.0, lambda t: True), 1: (400, 400, 5.0, lambda t: True)})
    red, green = (torso_histogram(image, boxes[k][:4]) for k in (0, 1))
    assert appearance_distance(red, red) < 0.05 and appearance_distance(red, green) > 0.5


def test_crossing_keeps_both_identities():
    paths = {0: (120, 520, 5.0, lambda t: True), 1: (520, 120, 8.0, lambda t: True)}  # 1 behind 0
    tracker, seen = run(paths)
    assert len(tracker.tracks) == 2
    for number, frames in seen.items():
        assert len(set(frames.values())) == 1, f"track {number} switched people: {frames}"
    assert sorted(next(iter(f.values())) for f in seen.values()) == [0, 1]
    rear = next(n for n, f in seen.items() if next(iter(f.values())) == 1)
    assert min(seen[rear]) == 0 and max(seen[rear]) == 40  # followed again after the crossing


def test_a_person_who_leaves_gets_their_number_back_and_a_newcomer_a_new_one():
    def out_and_back(t: int) -> float:  # walks off the right edge by frame 12, back in from frame 28
        return 420 + 25 * min(t, max(0, 40 - t))

    paths = {0: (150, 150, 5.0, lambda t: True), 1: (out_and_back, None, 6.0, lambda t: True),
             2: (300, 300, 7.0, lambda t: t >= 30)}  # someone new
    tracker, seen = run(paths)
    owners = {n: set(f.values()) for n, f in seen.items()}
    assert sorted(owners) == [1, 2, 3] and all(len(o) == 1 for o in owners.values())
    back = next(n for n, o in owners.items() if o == {1})
    assert min(seen[back]) < 10 and max(seen[back]) >= 30  # the same number before and after
    assert not any(12 <= t < 28 for t in seen[back])  # (it was out of the picture in between)
    track = next(t for t in tracker.tracks if t.number == back)
    assert 0 < track.confidence <= 1


def test_a_person_back_beside_someone_else_is_not_taken_for_them():
    def out_and_back(t: int) -> float:  # out by frame 12, back from frame 28, ending beside person 0
        return 420 + 25 * min(t, max(0, 40 - t))

    paths = {0: (150, 430, 7.0, lambda t: True), 1: (out_and_back, None, 5.0, lambda t: True)}
    tracker, seen = run(paths)
    owners = {n: set(f.values()) for n, f in seen.items()}
    assert sorted(owners) == [1, 2] and all(len(o) == 1 for o in owners.values()), owners
    back = next(n for n, o in owners.items() if o == {1})
    assert max(seen[back]) >= 30  # found again though someone else's box was on them
