"""Footage in, results file out: the loop that ties reading, tracking, estimating and writing.

Decoding, the slow part of reading a video, runs on a background thread up to one batch ahead
of the estimator (OpenCV releases the GIL, so it overlaps the network). Each batch's crops are
placed only once the previous batch's results are in, so the tracker can centre every crop on
where the person just was: with one frame per batch, on the previous frame's projected joints.
Crops are cut on a small thread pool. Memory is one batch of decoded frames and its crops,
whatever the clip length. The main thread estimates, feeds the results back to the tracker,
records them in chunks and reports progress; a cancellation is honoured between batches and
keeps every finished frame.
"""
from __future__ import annotations

import itertools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .. import __version__, results
from ..request import CHUNK_FRAMES, DEFAULT_SAMPLES, DEFAULT_SEED, DEFAULT_SMOOTH, REDETECT_EVERY
from ..camera import with_camera
from ..geometry import flip_boxes
from ..temporal.files import smoothed
from ..temporal.world import align_unsmoothed
from .crop import CropBox, ImageCamera, cut
from .detect import Detection, make_detector
from .errors import InferenceError
from .protocol import ESTIMATED_FIELDS, Estimator, FrameBatch, as_seen
from .footage import Footage, Frame, FrameRange, open_footage, open_rows
from .people import FramePeople, find_people, pick
from .run_state import Decoder as _Decoder, Progress, RunSummary, open_clip  # noqa: F401 (callers import them from here)
from .recorder import ResultsRecorder
from .track import PersonTracker

CROP_THREADS = min(8, os.cpu_count() or 1)


@dataclass
class EstimateOptions:
    """How to run one input (the command-line flags and protocol fields map onto these)."""

    frames: FrameRange | None = None
    bbox: tuple[float, float, float, float] | None = None  # person in the first frame, x, y, w, h
    person: int | None = None  # follow the N-th (0-based, left to right) person found in the first frame
    detector: str = "auto"
    samples: int = DEFAULT_SAMPLES
    batch_size: int = 1
    focal_px: float | None = None
    chunk_frames: int = CHUNK_FRAMES
    redetect_every: int = REDETECT_EVERY
    mirrored: bool = False  # selfie-style footage: the person's left appears on their left
    smooth: float = DEFAULT_SMOOTH  # temporal smoothing strength for videos (docs/temporal.md); 0 = off
    everyone: bool = False  # follow every person (everyone.py): one file per person and a clip index
    still_camera: bool = False  # skip the camera solve (tripod footage); videos are solved by default
    seed: int = DEFAULT_SEED  # random seed of the smoothed ghosts (the estimator's own samples take it from its settings)



@dataclass
class _Prepared:
    """One frame after tracking: its box and crop, or no box when nobody was found."""

    index: int
    box: CropBox | None
    detection: Detection | None
    crop: np.ndarray | None
    image: np.ndarray | None = None  # the full frame, for estimators that cut their own crops (hands)


def _prepare(frames: list[Frame], tracker: PersonTracker, needs_crops: bool,
             pool: ThreadPoolExecutor) -> list[_Prepared]:
    """Boxes from the tracker (in frame order: it may run the detector), then the crops in parallel."""
    placed = [(frame, *tracker.propose(frame)) for frame in frames]
    wanted = [(frame.image, box) for frame, box, _ in placed if box is not None and needs_crops]
    crops = iter(pool.map(lambda job: cut(*job), wanted) if len(wanted) > 1 else [cut(*j) for j in wanted])
    return [_Prepared(frame.index, box, detection, next(crops) if box is not None and needs_crops else None,
                      frame.image) for frame, box, detection in placed]


def _frame_arrays(prepared: list[_Prepared], estimated: dict[str, np.ndarray] | None, num_samples: int,
                  camera: ImageCamera, hands: bool = False, mirrored: bool = False) -> dict[str, np.ndarray]:
    """Per-frame results fields for a batch: estimates where a person was found, zeros elsewhere."""
    frames = results.empty_frames(len(prepared), num_samples, hands=hands)
    frames["frame_index"][:] = [p.index for p in prepared]
    frames["focal_px"][:] = camera.focal_px
    frames["principal_pt"][:] = camera.principal_pt
    rows = [i for i, p in enumerate(prepared) if p.box is not None]
    if rows and estimated is not None:
        ok = np.asarray(estimated.get("valid", np.ones(len(rows), bool)), bool)
        kept = np.array([row for row, good in zip(rows, ok) if good], dtype=np.int64)
        if not len(kept):  # the estimator rejected every box: these frames stay invalid, the run goes on
            return frames
        frames["valid"][kept] = True
        frames["bbox"][kept] = np.array([prepared[i].box.xywh() for i in kept], np.float32).reshape(-1, 4)
        if mirrored:  # beside the overlay, on the flipped footage
            frames["bbox"][kept] = flip_boxes(frames["bbox"][kept], camera.principal_pt[0])
        for name in ESTIMATED_FIELDS:
            frames[name][kept] = estimated[name][ok]
        for name in results.HAND_FIELDS:
            if name in estimated:
                frames[name][kept] = estimated[name][ok]
    return frames


def _estimate_batch(estimator: Estimator, prepared: list[_Prepared], tracker: PersonTracker,
                    camera: ImageCamera, options: EstimateOptions,
                    image_size: tuple[int, int], still: bool = False) -> dict[str, np.ndarray] | None:
    """Run the estimator on the frames that hold a person and tell the tracker where they were."""
    with_person = [p for p in prepared if p.box is not None]
    if not with_person:
        return None
    batch = FrameBatch(
        frame_index=np.array([p.index for p in with_person]),
        boxes=np.array([(p.box.cx, p.box.cy, p.box.side) for p in with_person]),
        crops=np.stack([p.crop for p in with_person]) if estimator.needs_crops else None,
        detections=[p.detection for p in with_person], camera=camera, num_samples=options.samples,
        image_size=image_size, mirrored=options.mirrored, images=[p.image for p in with_person], still=still)
    estimated = estimator.estimate(batch)
    seen = as_seen(estimated, camera) if options.mirrored else estimated  # the tracker follows the footage
    ok = estimated.get("valid", np.ones(len(with_person), bool))
    for i, p in enumerate(with_person):
        if ok[i]:
            tracker.observe(p.index, seen["joints2d"][i], p.box)
    return estimated


def _chosen_person(footage: Footage, options: EstimateOptions,
                   path: str) -> tuple[tuple[float, float, float, float] | None, dict]:
    """The box to start the track on (None: the detector's pick) and how it was chosen, for meta.

    With `options.person` the first frame is searched for everyone (people.py) and the chosen
    person's box seeds the tracker; that frame still goes through the pipeline as usual.
    """
    if options.bbox is not None:
        return options.bbox, {"choice": "box", "box": [round(float(v), 1) for v in options.bbox]}
    if options.person is None:
        return None, {"choice": "detector"}
    frames = iter(footage.frames())
    first = next(frames, None)
    if first is None:
        raise InferenceError("bad_input", f"{path}: its first frame could not be read.")
    footage._frames = itertools.chain([first], frames)
    found = FramePeople(first.index, footage.image_size, find_people(first.image))
    chosen = pick(found, options.person, path)
    return chosen.box, {"choice": "number", "number": options.person + 1, "of": len(found.people),
                        "frame": first.index, "box": [round(float(v), 1) for v in chosen.box]}


def estimate_file(input_path: str | Path, output_path: str | Path, estimator: Estimator,
                  options: EstimateOptions | None = None,
                  progress: Callable[[Progress], None] | None = None,
                  cancel: threading.Event | None = None) -> RunSummary:
    """Run the estimator over an image or a video and write the results file.

    With `options.everyone`, everyone in the footage is followed (everyone.py) and the summary's
    output is the clip index. Raises InferenceError for anything the user can fix (unreadable
    input, nobody in any frame).
    A set `cancel` stops after the current batch; the frames finished so far are written.
    """
    options = options or EstimateOptions()
    if options.everyone:
        from .everyone import estimate_everyone

        return estimate_everyone(input_path, output_path, estimator, options, progress, cancel)
    cancel = cancel or threading.Event()
    report = progress or (lambda _p: None)
    started = time.perf_counter()
    footage, camera = open_clip(input_path, options.frames, options.focal_px, report)
    width, height = footage.image_size
    meta = {"estimator": estimator.name, **estimator.describe(), "source": str(Path(input_path).resolve()),
            "created_by": f"propose-backend {__version__}"}
    recorder = ResultsRecorder(output_path, {"fps": footage.fps, "image_size": (width, height)}, meta,
                               estimator.rest_geometry, options.chunk_frames,  # fails now if it cannot write
                               early_first_chunk=footage.kind == "video")
    seed_box, person = _chosen_person(footage, options, str(input_path))
    meta["person"] = person  # which person the results follow (docs/results-schema.md)
    if options.mirrored:  # the file describes the real scene, seen on the footage flipped left-right
        meta["mirrored"] = True
    every_frame = estimator.needs_landmarks or options.detector == "full-frame"
    detector = make_detector(options.detector, every_frame=every_frame and footage.kind == "video")
    tracker = PersonTracker(detector, every_frame=every_frame, redetect_every=options.redetect_every,
                            seed_box=seed_box)
    decoder = _Decoder(footage, options.batch_size)
    decoder.start()
    cancelled = False
    estimator.reseed()
    estimating_since = time.perf_counter()
    try:
        with ThreadPoolExecutor(CROP_THREADS, thread_name_prefix="propose-crop") as pool:
            for frames in decoder.batches():
                if cancel.is_set():  # checked before each batch: a cancel during model loading keeps nothing
                    cancelled = True
                    break
                prepared = _prepare(frames, tracker, estimator.needs_crops, pool)
                if "box" not in person:  # the detector's pick: record where the track started
                    start = next((p for p in prepared if p.detection is not None), None)
                    if start is not None:
                        person.update(frame=start.index, box=[round(float(v), 1) for v in start.detection.box])
                estimated = _estimate_batch(estimator, prepared, tracker, camera, options, footage.image_size,
                                            still=footage.kind == "image")
                recorder.add(_frame_arrays(prepared, estimated, options.samples, camera,
                                            hands=getattr(estimator, "hands", False), mirrored=options.mirrored))
                elapsed = time.perf_counter() - estimating_since
                fps = recorder.frames_done / elapsed if elapsed > 0 else 0.0
                total = footage.frame_count
                eta = max(0.0, total - recorder.frames_done) / fps if total is not None and fps > 0 else None
                report(Progress("estimating", recorder.frames_done, total, fps, eta))
    except BaseException:
        recorder.flush()  # keep what was finished, even when failing
        raise
    finally:
        decoder.close()
        detector.close()
    if not cancelled and recorder.frames_done and not recorder.valid_frames:
        recorder.discard()
        what = "the image" if footage.kind == "image" else "any frame of the video"
        raise InferenceError("no_person", f"No person was found in {what} {input_path}.")
    video = footage.kind == "video" and recorder.frames_done > 1
    smooth = video and options.smooth > 0
    solve = video and not options.still_camera and not cancelled

    def final(data: dict) -> dict:
        """The merged frames, the camera solved and smoothed in memory (videos), just before the one
        write of the file."""
        if solve:
            report(Progress("camera", 0, recorder.frames_done, 0.0, None, "solving the camera's motion"))
            data = with_camera(data, open_rows(data, input_path),
                               lambda t: report(Progress("camera", t + 1, recorder.frames_done, 0.0, None)))
        if smooth:
            report(Progress("smoothing", recorder.frames_done, footage.frame_count, 0.0, None,
                            f"smoothing {recorder.frames_done} frames"))
            data = smoothed(data, options.smooth, options.seed, str(output_path))
        elif solve:
            data = align_unsmoothed(data)  # the camera path in the world of the per-frame feet
        report(Progress("writing", recorder.frames_done, footage.frame_count, 0.0, None, f"writing {output_path}"))
        return data

    output = recorder.finish(final)
    return RunSummary(output, recorder.frames_done, recorder.valid_frames, cancelled, estimator.name,
                      time.perf_counter() - started, footage.warnings, footage.frame_count)
