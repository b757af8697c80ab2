"""Reading a late-found person back through the kept frames (rewind.py), on drawn people.

The people are coloured boxes; the "estimator" sees, in a crop, the nearest person whose middle
lies inside it and who is not painted over (as BlazePose takes the most prominent body), so the
read-back must itself keep off the body in front. Fast: no rendering, no network.
"""
from __future__ import annotations

import numpy as np

from propose_backend import results
from propose_backend.inference.crop import CropBox
from propose_backend.inference.crowd import CrowdTracker
from propose_backend.inference.detect import Detection
from propose_backend.inference.footage import Frame
from propose_backend.inference.rewind import Rewind, merge_rows, read_back
from tests.backend.inference.test_crowd import CAMERA, COLOURS as SHIRTS, SIZE, picture

FRAMES = 16


def people_at(t: int) -> dict[int, tuple[float, float, float, float, float]]:
    """Person -> box (x, y, w, h) and depth: red stands still, green walks out from behind it."""
    out = {}
    for k, (x, depth) in {0: (300.0, 4.0), 1: (300.0 + 14.0 * t, 6.0)}.items():
        h = 1.7 * CAMERA.focal_px / depth
        out[k] = (x - 0.2 * h, 180 - 0.5 * h, 0.4 * h, h, depth)
    return out


def uncovered(people: dict, k: int) -> float:
    x, _, w, _, d = people[k]
    covered = max((max(0.0, min(x + w, ox + ow) - max(x, ox)) for j, (ox, _, ow, _, od) in people.items() if od < d),
                  default=0.0)
    return 1.0 - covered / w


def body(box: tuple) -> np.ndarray:
    x, y, w, h = box[:4]
    return np.stack(np.meshgrid(np.linspace(x + 0.1 * w, x + 0.9 * w, 5),
                                np.linspace(y + 0.09 * h, y + 0.91 * h, 7)), -1).reshape(-1, 2)


def sees(image: np.ndarray, people: dict, crop: CropBox) -> int | None:
    """Who a crop shows: the nearest person centred in it who is at least a third uncovered and
    whose shirt shows (not all painted over)."""
    for k in sorted(people, key=lambda k: people[k][4]):
        x, y, w, h, _ = people[k]
        shirt = image[int(y + 0.35 * h), int(max(0, x)):int(min(SIZE[0], x + w))]
        if abs(x + w / 2 - crop.cx) < crop.side / 2 and abs(y + h / 2 - crop.cy) < crop.side / 2 \
                and np.all(shirt == SHIRTS[k], axis=-1).sum() >= 0.3 * w and uncovered(people, k) > 0.3:
            return k
    return None


def follow(rewind: Rewind | None, found_from: int, reads: list[tuple[int, bool]] | None = None):
    """Track forward; the detector sees green only from `found_from` on. Returns the tracker, who
    each track was seen as per frame, and what was read back; `reads` gets (frame, whether the
    picture was painted over) for every crop the read-back had estimated."""
    state = {}
    tracker = CrowdTracker(lambda image: [Detection(state["people"][k][:4], 1.0, "test") for k in state["people"]
                                          if k == 0 or state["t"] >= found_from], CAMERA, SIZE, redetect_every=4)
    seen: dict[int, dict[int, int]] = {}
    back: dict[int, dict[int, int]] = {}
    pictures = {}
    for t in range(FRAMES):
        people = people_at(t)
        state.update(t=t, people=people)
        frame = Frame(t, picture(people))
        pictures[t] = people
        placements = tracker.propose(frame)
        who = [sees(frame.image, people, p.box) for p in placements]
        estimated = {"joints2d": np.array([body(people[k]) if k is not None else np.full((35, 2), np.nan) for k in who]),
                     "transl": np.array([[0.0, 0.0, people[k][4] if k is not None else 1.0] for k in who]),
                     "valid": np.array([k is not None for k in who])}
        valid, confidence = tracker.observe(frame, placements, estimated)
        for p, k, ok in zip(placements, who, valid):
            if ok:
                seen.setdefault(p.number, {})[t] = k
        if rewind is None:
            continue
        due = rewind.remember(frame, {p.number: (estimated["joints2d"][i], estimated["transl"][i][2], confidence[i])
                                      for i, p in enumerate(placements) if valid[i]})
        for number, run in due:
            def estimate(image, index, crop):
                if reads is not None:
                    reads.append((index, image is not rewind.at(index).frame.image))
                k = sees(image, pictures[index], crop)
                points = body(pictures[index][k]) if k is not None else np.full((35, 2), np.nan)
                return {"valid": np.array([k is not None]), "joints2d_seen": points[None], "who": k,
                        "transl": np.array([[0.0, 0.0, pictures[index][k][4] if k is not None else 1.0]])}

            found, sure = read_back(rewind, number, run, tracker, estimate)
            assert 0 < sure <= 1
            back.setdefault(number, {}).update({index: fields["who"] for index, fields, _ in found})
    return tracker, seen, back


def test_a_person_found_late_is_read_back_to_where_they_step_out():
    first_shown = next(t for t in range(FRAMES) if uncovered(people_at(t), 1) > 0.3)
    assert 2 <= first_shown < 8
    _, seen, _ = follow(None, found_from=8)
    green = next(n for n, frames in seen.items() if 1 in frames.values())
    assert min(seen[green]) >= 8  # forwards alone: found only when the detector saw them
    _, seen, back = follow(Rewind(), found_from=8)
    green = next(n for n, frames in seen.items() if 1 in frames.values())
    assert set(back) == {green}
    assert min(back[green]) == first_shown and set(back[green].values()) == {1}  # theirs, not the one in front
    assert sorted(back[green]) == list(range(first_shown, min(seen[green])))


def test_once_the_one_in_front_had_to_be_painted_over_earlier_frames_start_painted():
    reads: list[tuple[int, bool]] = []
    _, seen, back = follow(Rewind(), found_from=8, reads=reads)
    green = next(n for n, frames in seen.items() if 1 in frames.values())
    kept = sorted(back[green], reverse=True)
    # going back, green is further behind red on each frame: the first frame whose picture as it is
    # showed red is read again painted over; every earlier frame kept costs one estimate, painted
    # from the start (the picture as it is would show red again); the frame that ends it, two
    first = reads.index(next(r for r in reads if r[1]))
    frame = reads[first][0]
    assert reads[first - 1] == (frame, False) and frame in kept
    later = [f for f in kept if f < frame]
    assert len(later) >= 3
    assert reads[first + 1:first + 1 + len(later)] == [(f, True) for f in later]
    assert len(reads) <= first + 1 + len(later) + 2


def test_rows_read_back_go_in_before_the_rows_they_lead_into():
    def rows(frames, valid, value):
        data = results.empty_frames(len(frames), 0)
        data["frame_index"][:] = frames
        data["valid"][:] = valid
        data["transl"][:] = value
        return data

    track = {**rows([5, 6, 7, 8], [True, False, False, True], 1.0), "fps": 30.0}
    merged = merge_rows(track, [rows([6], [True], 2.0), rows([7], [True], 2.0), rows([3], [True], 2.0)])
    assert merged["frame_index"].tolist() == [3, 5, 6, 7, 8]
    assert merged["valid"].tolist() == [True] * 5
    assert merged["transl"][:, 0].tolist() == [2.0, 1.0, 2.0, 2.0, 1.0]
    assert merged["fps"] == 30.0 and merge_rows(track, []) is track
