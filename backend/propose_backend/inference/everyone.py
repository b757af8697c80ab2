"""Footage in, everyone out: the multi-person run (estimate --everyone).

Frame by frame, the crowd tracker (crowd.py) places one crop per person followed; the crops of a
frame go through the estimator as ONE batch (rows tagged with their person, so an estimator that
fits each body as it goes keeps them apart); the tracker then decides who was really seen, and
each person's row goes to disk as it comes, through a results recorder of their track's own
(OUT.track-K.npz chunks, recorder.py): memory holds the tracker's state and a few frames per track,
not everyone's rows, and a killed run leaves every track's finished frames on disk, readable by
`results.read_results(OUT.track-K.npz)` and turned into people files by `recover_people`. At the
end every person with enough frames becomes a results file of their own (smoothed like a
single-person run) and the clip index lists them (people_file.py); the track chunks go.
Tracks too short to animate (a passer-by glimpsed for a few frames, a false detection) are left
out (in a clip too short to tell, a photo, everyone found is kept); the rest are numbered in order
of first appearance, left to right on a shared first frame, as `propose-backend people` numbers them.
"""
from __future__ import annotations

import math
import shutil
import threading
import time
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from .. import __version__, people_file, results
from ..request import REDETECT_EVERY
from ..camera import solve_results_footage, relative_transforms
from ..geometry import flip_boxes
from ..temporal import shared_world
from ..temporal.files import smoothed
from .crop import ImageCamera, cut
from .crowd import REDETECT_PEOPLE_EVERY, CrowdTracker, Placement, body_box, same_body
from .errors import InferenceError
from .protocol import Estimator, FrameBatch, as_seen
from .rewind import Rewind, merge_rows, read_back
from .kept_rows import KeptRows, block as _block
from .recorder import ResultsRecorder, _check_writable as check_writable
from .footage import Frame, open_rows
from .detect import BlazePoseDetector
from .people import find_people, paint_body
from .occlusion import hide_covered
from .run_state import Decoder, Progress, RunSummary, open_clip

MIN_TRACK_FRAMES = 8  # frames with a person a track needs to be kept (in a clip at least this long)
BODY_REFRESH_S = 60.0  # a track's chunks refit its body at most this often


def min_track_frames(clip_frames: int | None) -> int:
    """Frames with their person a track needs to be kept: fewer than MIN_TRACK_FRAMES in footage is a
    flicker (a false detection, a passer-by glimpsed); a shorter clip (`clip_frames`; None: not
    known) cannot tell, so there it is the whole clip (a photo: each person found on it)."""
    return MIN_TRACK_FRAMES if clip_frames is None else max(1, min(MIN_TRACK_FRAMES, clip_frames))


def _batch(images: list[np.ndarray], frame_index: int, placements: list[Placement], estimator: Estimator | KeptRows,
           camera: ImageCamera, options, image_size: tuple[int, int], still: bool = False) -> FrameBatch:
    """One frame's people as one estimator batch, each row tagged with its person and cut from its
    own picture of the frame (the frame itself, or a copy with someone painted over); the picture
    goes with the row, so each person's hands are found by their own hand landmarker (`still`: a photo's)."""
    return FrameBatch(
        frame_index=np.full(len(placements), frame_index),
        boxes=np.array([(p.box.cx, p.box.cy, p.box.side) for p in placements]),
        crops=np.stack([cut(image, p.box) for image, p in zip(images, placements)]) if estimator.needs_crops else None,
        detections=[None] * len(placements), camera=camera, num_samples=options.samples,
        image_size=image_size, mirrored=options.mirrored, person=np.array([p.number for p in placements]),
        images=list(images), still=still)


def _read_back(rewind: Rewind, number: int, run, tracker: CrowdTracker, estimator: KeptRows, camera: ImageCamera,
               options, image_size: tuple[int, int], hands: bool) -> tuple[list[dict[str, np.ndarray]], int]:
    """Person `number`'s rows on the kept frames before `run` (rewind.py), latest first, and how many
    crops were read. The estimator sees them as person -number: their body fit is the same, but a
    frame-to-frame tracker (the hand landmarker) gets one of its own for going backwards."""
    tried = 0

    def estimate(picture: np.ndarray, index: int, crop) -> dict[str, np.ndarray]:
        nonlocal tried
        tried += 1
        out = estimator.read(_batch([picture], index, [Placement(-number, crop)], estimator, camera, options, image_size))
        return {**out, "joints2d_seen": np.array(_seen(out, camera, options)["joints2d"])}

    found, confidence = read_back(rewind, number, run, tracker, estimate)
    estimator.now([(fields, np.ones(1, bool)) for _, fields, _ in found])  # the ghosts of the rows kept, one batch
    rows = [_block(index, [Placement(number, crop)], fields, np.ones(1, bool), np.full(1, confidence, np.float32),
                   camera, options, hands) for index, fields, crop in found]
    return rows[::-1], tried


def _seen(estimated: dict[str, np.ndarray] | None, camera: ImageCamera, options) -> dict[str, np.ndarray] | None:
    """What the crowd tracker follows: the overlay on the footage as it is (a mirrored run's
    estimate lies on the flipped footage, propose_backend.mirrored)."""
    return as_seen(estimated, camera) if options.mirrored and estimated is not None else estimated


def _look_behind(frame: Frame, placements: list[Placement], estimated: dict[str, np.ndarray], valid: np.ndarray,
                 confidence: np.ndarray, tracker: CrowdTracker, estimator: KeptRows, camera: ImageCamera,
                 options, image_size: tuple[int, int], still: bool = False) -> None:
    """Estimate once more each crop that saw someone else, that body painted grey (as people.py
    searches a frame); what is found now is filled into `estimated`, `valid` and `confidence` in
    place."""
    bodies: dict[int, list[np.ndarray]] = {}
    for i, points in tracker.hidden_by:
        bodies.setdefault(i, []).append(points)
    rows = sorted(bodies)
    pictures = []
    for i in rows:
        masked = frame.image.copy()
        for points in bodies[i]:
            paint_body(masked, points)
        pictures.append(masked)
    chosen = [placements[i] for i in rows]
    again = estimator.read(_batch(pictures, frame.index, [Placement(-p.number, p.box) for p in chosen], estimator,
                                  camera, options, image_size, still))  # a second look: out of the person's sequence
    found, sure = tracker.observe(frame, chosen, _seen(again, camera, options), learn=False)
    taken = [body_box(estimated["joints2d"][j]) for j in np.flatnonzero(valid)]  # bodies others already have
    for k, i in enumerate(rows):
        box = body_box(again["joints2d"][k]) if found[k] else None
        if box is not None and not any(b is not None and same_body(box, b) for b in taken):
            valid[i], confidence[i] = True, sure[k]
            for name in again:  # the row's fields (a deferred read: where to draw its ghosts)
                estimated[name][i] = again[name][k]


def estimate_everyone(input_path: str | Path, output_path: str | Path, estimator: Estimator, options,
                      progress: Callable | None = None, cancel: threading.Event | None = None):
    """Follow and estimate everyone in a video or image; write one results file per person and
    the clip index beside `output_path` (OUT.people.json, OUT.person-N.npz). Returns a RunSummary
    whose output is the clip index. A cancel keeps the frames done so far."""
    cancel = cancel or threading.Event()
    report = progress or (lambda _p: None)
    started = time.perf_counter()
    footage, camera = open_clip(input_path, options.frames, options.focal_px, report)
    check_writable(people_file.index_path(output_path))  # fails now, before any work, if it cannot write
    every = options.redetect_every if options.redetect_every != REDETECT_EVERY else REDETECT_PEOPLE_EVERY
    searcher = BlazePoseDetector(video=False)  # one still-image BlazePose for every search of the clip
    still = footage.kind == "image"  # a photo: its crops and hands read as stills, as a single-person run's
    tracker = CrowdTracker(lambda image: find_people(image, blazepose=searcher), camera, footage.image_size, every,
                           still)
    _discard_tracks(output_path)  # a killed older run's tracks: this run writes its own
    recorders: dict[int, ResultsRecorder] = {}  # by track number: each track's rows go to disk as they come
    first_body = _FirstBody(estimator)  # the body of every track's first chunk
    rewind = Rewind()  # the last frames, to read a person found late back to where they appeared
    earlier: dict[int, list[dict[str, np.ndarray]]] = {}  # by track number: rows read back (few; merged at the end)
    followed: dict[int, list[tuple[float, float, float, float]]] = {}  # every crop by frame: masked in the camera solve
    frames_done = with_anyone = 0
    timing = {"estimate_s": 0.0, "track_s": 0.0, "person_frames": 0}
    decoder = Decoder(footage, 1)
    decoder.start()
    cancelled = False
    estimator.reseed()
    later = KeptRows(estimator, frames=options.chunk_frames)  # reads for the tracker; ghosts for the rows kept
    hands = bool(getattr(estimator, "hands", False))
    forget = getattr(estimator, "forget", lambda _person: None)  # an estimator following each person in their crop

    def record(index: int, placements: list[Placement], estimated: dict, valid: np.ndarray, confidence: np.ndarray):
        """One frame's rows to their tracks' recorders (once their ghosts are drawn)."""
        block = _block(index, placements, estimated, valid, confidence, camera, options, hands)
        for k, placement in enumerate(placements):
            if placement.number not in recorders:
                recorders[placement.number] = _track_recorder(output_path, placement.number, footage,
                                                              estimator, options, input_path, first_body)
            recorders[placement.number].add({n: v[k:k + 1] for n, v in block.items()})
    estimating_since = time.perf_counter()
    try:
        for (frame,) in decoder.batches():
            if cancel.is_set():
                cancelled = True
                break
            tick = time.perf_counter()
            placements = tracker.propose(frame)
            timing["track_s"] += time.perf_counter() - tick
            estimated = None
            if placements:
                tick = time.perf_counter()
                estimated = later.read(_batch([frame.image] * len(placements), frame.index, placements,
                                              estimator, camera, options, footage.image_size, still))
                timing["estimate_s"] += time.perf_counter() - tick
                timing["person_frames"] += len(placements)
            tick = time.perf_counter()
            valid, confidence = tracker.observe(frame, placements, _seen(estimated, camera, options))
            timing["track_s"] += time.perf_counter() - tick
            misread = {placements[i].number for i, _ in tracker.hidden_by}  # crops whose reader held someone else
            if tracker.hidden_by:  # someone half behind another: look again with the front body painted over
                tick = time.perf_counter()
                _look_behind(frame, placements, estimated, valid, confidence, tracker, later, camera, options,
                             footage.image_size, still)
                timing["estimate_s"] += time.perf_counter() - tick
            for number in misread | {placements[k].number for k in np.flatnonzero(~valid)}:
                forget(number)  # a crop that did not show its person: its reader looks afresh on the next
            if placements:  # the rows kept (forward reads, second looks) go to disk once their ghosts are in
                tick = time.perf_counter()
                later.later([(estimated, valid)], partial(record, frame.index, placements, estimated, valid, confidence))
                timing["estimate_s"] += time.perf_counter() - tick
            followed[frame.index] = [p.box.xywh() for p in placements]
            points = _seen(estimated, camera, options)["joints2d"] if placements else None
            for number, run in rewind.remember(frame, {p.number: (points[k], estimated["transl"][k][2], confidence[k])
                                                       for k, p in enumerate(placements) if valid[k]}):
                tick = time.perf_counter()  # found after a gap or late: read them back through the kept frames
                rows, tried = _read_back(rewind, number, run, tracker, later, camera, options, footage.image_size, hands)
                earlier.setdefault(number, []).extend(rows)
                for row in rows:
                    followed[int(row["frame_index"][0])].append(tuple(float(v) for v in row["bbox"][0]))
                timing["estimate_s"] += time.perf_counter() - tick
                timing["person_frames"] += tried
            frames_done += 1
            with_anyone += int(valid.any()) if placements else 0
            elapsed = time.perf_counter() - estimating_since
            fps = frames_done / elapsed if elapsed > 0 else 0.0
            total = footage.frame_count
            eta = max(0.0, total - frames_done) / fps if total is not None and fps > 0 else None
            report(Progress("estimating", frames_done, total, fps, eta,
                            f"{len(placements)} people followed"))
        later.flush()  # the rows still held for their ghosts
    except BaseException:
        with suppress(Exception):  # the rows held for their ghosts, unless drawing them is what failed
            later.flush()
        for recorder in recorders.values():  # keep what was finished, even when failing
            recorder.flush()
        if recorders:
            _write_people(output_path, _finished(recorders), footage.fps, footage.image_size, estimator, options,
                          frames_done, {}, shared_world.still(sorted(followed)), finish=False, earlier=earlier,
                          min_frames=min_track_frames(footage.frame_count))
            _discard_tracks(output_path)
        raise
    finally:
        decoder.close()
        searcher.close()
    needed = min_track_frames(footage.frame_count if cancelled else frames_done)  # read to its end: its true length
    kept = {n: r for n, r in recorders.items() if r.valid_frames + len(earlier.get(n, ())) >= needed}
    if not kept:
        _discard_tracks(output_path)
        if frames_done and not cancelled:
            found = "found in the image" if footage.kind == "image" else "followed long enough in any frame of the video"
            raise InferenceError("no_person", f"No person was {found} {input_path}.")
        return RunSummary(None, frames_done, 0, cancelled, estimator.name, time.perf_counter() - started,
                          footage.warnings, footage.frame_count)
    cameras, solve = shared_world.still(sorted(followed)), None
    if footage.kind == "video" and frames_done > 1 and not options.still_camera and not cancelled:
        cameras, solve = _solve_camera(input_path, followed, camera, report, options.mirrored)
    report(Progress("writing", frames_done, footage.frame_count, 0.0, None, f"writing {len(kept)} people"))
    seconds = time.perf_counter() - started
    index = _write_people(output_path, _finished(kept), footage.fps, footage.image_size, estimator, options,
                          frames_done, {
        "seconds": round(seconds, 2), "estimate_s": round(timing["estimate_s"], 2),
        "track_s": round(timing["track_s"], 2), "person_frames": timing["person_frames"],
        "detector_runs": tracker.detections_run, "tracks_started": len(tracker.tracks),
        "frames_read_back": sum(map(len, earlier.values()))}, cameras, solve=solve, earlier=earlier, min_frames=needed)
    _discard_tracks(output_path)
    return RunSummary(index, frames_done, with_anyone, cancelled, estimator.name, seconds,
                      footage.warnings, footage.frame_count)


def _solve_camera(input_path: str | Path, followed: dict[int, list[tuple[float, float, float, float]]],
                  camera: ImageCamera, report: Callable, mirrored: bool = False) -> tuple[shared_world.ClipCameras, dict]:
    """The camera's motion, solved once for the clip with every followed person masked out:
    (the clip's camera-t → camera-0 transforms, the solve's figures for meta["camera"]); mirrored
    footage is solved flipped back, the real camera's path."""
    frames = np.array(sorted(followed), np.int64)
    clip = {"frame_index": frames, "focal_px": np.full(len(frames), camera.focal_px, np.float32),
            "principal_pt": np.tile(np.asarray(camera.principal_pt, np.float32), (len(frames), 1)),
            "meta": {"mirrored": True} if mirrored else {}}
    if mirrored:  # the crops on the flipped frames
        followed = {f: [tuple(flip_boxes(np.asarray(b, np.float64), camera.principal_pt[0])) for b in boxes]
                    for f, boxes in followed.items()}
    report(Progress("camera", 0, len(frames), 0.0, None, "solving the camera's motion"))
    path = solve_results_footage(clip, open_rows(clip, input_path),  # travel needs one person's feet: not yet
                                 lambda t: report(Progress("camera", t + 1, len(frames), 0.0, None)),
                                 travel=False, people=followed)
    return shared_world.ClipCameras(frames, relative_transforms(path, len(frames))), path.describe()


def _track_recorder(output_path: str | Path, track: int, footage, estimator: Estimator, options,
                    source: str | Path, first: "_FirstBody") -> ResultsRecorder:
    """Track `track`'s rows on disk as they come: OUT.track-K.npz chunks, renumbered at the end."""
    meta = {"estimator": estimator.name, **estimator.describe(), "source": str(Path(source).resolve()),
            "created_by": f"propose-backend {__version__}",
            "person": {"choice": "everyone", "track": track}, **({"mirrored": True} if options.mirrored else {})}
    return ResultsRecorder(people_file.track_path(output_path, track),
                           {"fps": footage.fps, "image_size": footage.image_size}, meta,
                           _ChunkBody(estimator, track, first), options.chunk_frames)


class _ChunkBody:
    """The body a track's chunks carry (only a recovery reads it: the people files get theirs from
    the estimator at the end): refitted at most every BODY_REFRESH_S, since a fit costs a good part
    of a second and every track writes its own chunks. A track's first chunk comes after a frame or
    two, too few to tell their build, so every track's first chunk carries one body fitted once
    for the run (`first`, shared) instead of a fit of its own."""

    def __init__(self, estimator: Estimator, track: int, first: "_FirstBody") -> None:
        self.estimator, self.track, self.first = estimator, track, first
        self.since, self.body = -math.inf, None

    def __call__(self, betas: np.ndarray) -> dict[str, np.ndarray]:
        if self.body is None:
            self.body, self.since = self.first(betas), time.monotonic()
        elif time.monotonic() - self.since > BODY_REFRESH_S:
            self.body, self.since = self.estimator.rest_geometry(betas, person=self.track), time.monotonic()
        return self.body


class _FirstBody:
    """The body every track's first chunk carries: the estimator's body, fitted once per run."""

    def __init__(self, estimator: Estimator) -> None:
        self.estimator, self.body = estimator, None

    def __call__(self, betas: np.ndarray) -> dict[str, np.ndarray]:
        if self.body is None:
            self.body = self.estimator.rest_geometry(betas)
        return self.body


def _finished(recorders: dict[int, ResultsRecorder]) -> dict[int, Path]:
    """Every track's frames on disk (pending rows flushed as a last chunk): track number -> its path."""
    for recorder in recorders.values():
        recorder.flush()
    return {number: recorder.output for number, recorder in recorders.items()}


def _discard_tracks(output_path: str | Path) -> None:
    for track in people_file.track_paths(output_path).values():
        shutil.rmtree(results.chunk_dir(track), ignore_errors=True)


def recover_people(output_path: str | Path) -> Path | None:
    """The people of an everyone run that was killed (kill -9, power loss) before it wrote them:
    every track's finished chunks (OUT.track-K.npz.chunks) become OUT.person-N.npz files in one
    world with a still camera, unsmoothed, each with the body its last chunk carries, and the clip
    index; returns the index (None when no track was followed long enough). No estimator is needed
    (`propose-backend recover`). The track chunks go once the people are written."""
    tracks = people_file.track_paths(output_path)
    if not tracks:
        return None
    first = results.read_results(next(iter(tracks.values())))
    frames = sorted({int(f) for path in tracks.values() for f in results.read_results(path)["frame_index"]})
    index = _write_people(output_path, tracks, float(first["fps"]), tuple(int(v) for v in first["image_size"]),
                          None, None, len(frames), {"recovered": True}, shared_world.still(frames), finish=False)
    if index is not None:  # nobody long enough: the chunks stay, still readable one by one
        _discard_tracks(output_path)
    return index


def _write_people(output_path: str | Path, tracks: dict[int, Path], fps: float, image_size: tuple[int, int],
                  estimator: Estimator | None, options, frames_done: int, timing: dict, cameras: shared_world.ClipCameras,
                  solve: dict | None = None, finish: bool = True, min_frames: int = MIN_TRACK_FRAMES,
                  earlier: dict[int, list[dict[str, np.ndarray]]] | None = None) -> Path | None:
    """Each track followed long enough (read back from its chunks) as a results file, numbered by
    first appearance, and the clip index; returns the index path (None when nobody was followed long
    enough). Everyone is put in one world (shared_world.py) with the clip's camera path `cameras`;
    `finish` smooths (False: a failed run keeps its per-frame values). Without `estimator` (a
    recovery) each person keeps the body and meta its chunks carry. `earlier`: rows read back
    (rewind.py) per track, put in before the rows they lead into; a track needs `min_frames` seen
    (min_track_frames). Rows where someone nearer covered most of a person become frames they were
    not seen on (occlusion.py)."""
    kept = {track: merge_rows(results.read_results(path), (earlier or {}).get(track, []))
            for track, path in tracks.items()}
    kept = hide_covered({n: data for n, data in kept.items() if data["valid"].sum() >= min_frames})
    if not kept:
        return None
    width, height = image_size
    order = sorted(kept, key=lambda n: (int(kept[n]["frame_index"][0]),  # left to right by crop centre, as `people`
                                        float(kept[n]["bbox"][0, 0] + kept[n]["bbox"][0, 2] / 2) if kept[n]["valid"][0]
                                        else 0.0, n))
    recorded = {k: v for k, v in kept[order[0]]["meta"].items() if k != "person"}
    meta = {**recorded, **({"estimator": estimator.name, **estimator.describe()} if estimator is not None else {}),
            "created_by": f"propose-backend {__version__}", **({"camera": solve} if solve is not None else {})}
    meta.setdefault("source", "")
    if options is not None and options.mirrored:  # the files describe the real scene, seen on the footage flipped
        meta["mirrored"] = True
    people = []
    for number, track in enumerate(order, start=1):
        recorded = kept.pop(track)
        per_frame = {*results.PER_FRAME_FIELDS, *results.OPTIONAL_PER_FRAME_FIELDS, *results.HAND_FIELDS}
        data = {name: value for name, value in recorded.items() if name in per_frame}
        valid = data["valid"]
        data.update(schema_version=results.SCHEMA_VERSION, fps=fps, image_size=(width, height),
                    person=number, meta={**meta, "person": {"choice": "everyone", "number": number}})
        if estimator is not None:
            data.update(estimator.rest_geometry(np.median(data["betas"][valid], axis=0), person=track))
        else:  # the body of the track's last chunk: from the median betas of all its frames
            data.update({k: v for k, v in recorded.items() if k not in per_frame and k not in data})
        data = shared_world.camera_rows(data, cameras)
        if finish and options is not None and options.smooth > 0 and int(valid.sum()) > 1 and len(valid) > 1:
            data = smoothed(data, options.smooth, options.seed, f"person {number}")
        people.append(data)
    entries = []
    for number, data in enumerate(shared_world.into_one_world(people, cameras), start=1):
        path = people_file.person_path(output_path, number)
        results.write_results(path, data)
        entries.append(people_file.describe_person(number, data, path.name))
    return people_file.write_index(people_file.index_path(output_path), {
        "source": meta["source"], "fps": float(fps), "image_size": [width, height],
        "frames": frames_done, "estimator": meta.get("estimator", ""), "created_by": meta["created_by"],
        "timing": timing}, entries)
