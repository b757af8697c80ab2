"""Following everyone in a video: one track per person, identities kept through crossings.

Every track is followed by its own crop, centred where the estimator last saw that person and
moved on at their recent speed (as track.py does for one person). The people detector
(people.py: BlazePose repeated over the frame, plus HOG) runs on the first frame, every
`redetect_every` frames, and every few frames while someone is hidden; its detections are
matched to the tracks (Hungarian assignment) on three kinds of evidence:

- motion: distance of the detection from the track's predicted box, in box sides;
- appearance: Bhattacharyya distance between colour histograms (hue, saturation) of the torso
  (appearance.py);
- 3D position: the detection placed in the camera frame at the depth its size implies for that
  person's stature, against the track's predicted pelvis position, metres.

A crossing is handled after each frame's estimates: when two crops saw the same body, it goes to
the track the evidence favours and the other is hidden for that frame (no valid row; it keeps
moving on its predicted path). A hidden track that is seen again, or a lost track re-found by a
later detection, starts a new segment of its track with an identity confidence: how much better
its own appearance and position fit than the next candidate's (1 = no doubt). A track that is
matched to nobody for HIDDEN_FRAMES frames, or whose box leaves the picture, is lost; a new
detection that looks like a lost person enough gets that person's number back.
A photo (`still`): every person its one search found starts a track (in footage one inside someone
followed is them, partly seen); a crop's body is judged by what the picture shows (not limbs guessed past it).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.optimize import linear_sum_assignment

from .appearance import BLAZEPOSE_TORSO, SMPL_TORSO, appearance_distance, torso_histogram
from .crop import CropBox, ImageCamera
from .detect import Detection, box_from_points, clip_box
from .footage import Frame
from .track import LOST_OFFSET, LOST_SCALE, iou

log = logging.getLogger(__name__)

REDETECT_PEOPLE_EVERY = 5  # frames between searches for newcomers (someone stepping out from behind another)
REDETECT_HIDDEN_EVERY = 3  # frames between searches while someone is hidden
HISTORY = 8  # observations kept per track for its speed
HIDDEN_FRAMES = 45  # a track unseen this long is lost (it may still be re-found by appearance)
EXTRAPOLATE_FRAMES = 15  # a hidden person's box moves on at their speed this long, then waits
BRIEF_HIDE = 3  # frames; a person back after so short a gap keeps their segment's identity confidence (or less)
MAX_TRACKS = 16  # people followed at once
MIN_BOX_PX = 40  # detections smaller than this (height, pixels) are too small to follow
STATURE_M = 1.7  # a person's box height in metres, before a track has its own estimate
HIST_KEEP = 0.9  # running average of a track's torso histogram
# Association: cost = motion (box sides) + appearance (Bhattacharyya, 0..1) + 3D distance / POSITION_M.
POSITION_M = 1.0
GATE_MOTION = 1.0  # a detection further than this many box sides from the prediction is not that track
GATE_COST = 1.6
# Appearance distance up to which a newcomer may be a lost person. On the street clip one person's
# torso histograms differ by 0.19-0.44 over 150 frames (light, turning), different people by 0.77-0.87.
REID_MAX = 0.55
# A crop whose torso colours are further than this from its person's (once learned from a few clear
# views) shows someone else: the crop slid onto a neighbour, and the person counts as hidden.
DRIFT_MAX = 0.6
LEARNED_VIEWS = 5
NEWCOMER_OVERLAP = 0.5  # a detection this much inside a followed person's box is that person (partly seen)
SAME_BODY = 0.25  # two estimates whose boxes are this close (in box sides) show the same body
MARGIN_SCALE = 0.25  # identity confidence = 1 - exp(-margin / MARGIN_SCALE)
MIN_CONFIDENCE = 0.05


def looks_like(histogram: np.ndarray | None, track: "Track") -> float:
    """Appearance distance of a view to a person: the nearer of their running and first colours."""
    return min(appearance_distance(histogram, track.histogram), appearance_distance(histogram, track.anchor)) \
        if track.anchor is not None else appearance_distance(histogram, track.histogram)


def confidence_from_margin(margin: float) -> float:
    return float(max(MIN_CONFIDENCE, 1.0 - math.exp(-max(0.0, margin) / MARGIN_SCALE))) if math.isfinite(margin) else 1.0


def same_body(a: CropBox, b: CropBox) -> bool:
    """Whether two estimates' boxes show one body (nearly the same place and size)."""
    return math.hypot(a.cx - b.cx, a.cy - b.cy) < SAME_BODY * min(a.side, b.side) \
        and max(a.side, b.side) / min(a.side, b.side) < 1.5


def body_box(points: np.ndarray) -> CropBox | None:
    """The crop-style box of an estimate's 2D points (None when they are not all finite)."""
    return CropBox.around(*box_from_points(points)) if np.isfinite(points).all() else None


@dataclass
class Track:
    """One person followed through the clip."""

    number: int
    boxes: list[tuple[int, CropBox]] = field(default_factory=list)  # recent (frame, box) where seen
    positions: list[tuple[int, np.ndarray]] = field(default_factory=list)  # recent (frame, pelvis xyz m)
    histogram: np.ndarray | None = None  # running average of the torso colours
    anchor: np.ndarray | None = None  # the average of the first clear views, kept: a slow drift cannot move it
    views: int = 0  # clear views the histogram was learned from
    stature_px_m: float | None = None  # box height in pixels × depth in metres (size-depth constant)
    state: str = "seen"  # seen, hidden, lost
    last_seen: int = 0
    confidence: float = 1.0  # identity confidence of the current segment
    returning: bool = False  # hidden until now: the next sighting starts a new segment

    def predict_box(self, frame: int) -> CropBox:
        newest_frame, newest = self.boxes[-1]
        oldest_frame, oldest = self.boxes[0]
        if newest_frame == oldest_frame:
            return newest
        span = newest_frame - oldest_frame
        ahead = min(frame - newest_frame, EXTRAPOLATE_FRAMES)
        return CropBox(newest.cx + (newest.cx - oldest.cx) / span * ahead,
                       newest.cy + (newest.cy - oldest.cy) / span * ahead, newest.side)

    def predict_position(self, frame: int) -> np.ndarray | None:
        if not self.positions:
            return None
        newest_frame, newest = self.positions[-1]
        oldest_frame, oldest = self.positions[0]
        if newest_frame == oldest_frame:
            return newest
        return newest + (newest - oldest) / (newest_frame - oldest_frame) * min(frame - newest_frame, EXTRAPOLATE_FRAMES)

    def see(self, frame: int, box: CropBox, position: np.ndarray | None = None) -> None:
        self.boxes = [b for b in self.boxes if b[0] < frame][-(HISTORY - 1):] + [(frame, box)]
        if position is not None and np.all(np.isfinite(position)) and position[2] > 0:
            self.positions = [p for p in self.positions if p[0] < frame][-(HISTORY - 1):] + [(frame, position)]
            self.stature_px_m = box.side * float(position[2])
        self.state, self.last_seen = "seen", frame

    def learn_appearance(self, histogram: np.ndarray | None) -> None:
        if histogram is None:
            return
        self.views += 1
        if self.views <= LEARNED_VIEWS:
            self.anchor = histogram if self.anchor is None else self.anchor + (histogram - self.anchor) / self.views
        self.histogram = histogram if self.histogram is None else HIST_KEEP * self.histogram + (1 - HIST_KEEP) * histogram


@dataclass
class Placement:
    """A crop to estimate this frame: whose, and where."""

    number: int
    box: CropBox


class CrowdTracker:
    """Decides every track's crop each frame and who is who after the estimates (module docstring)."""

    def __init__(self, find: Callable[[np.ndarray], list[Detection]], camera: ImageCamera,
                 image_size: tuple[int, int], redetect_every: int = REDETECT_PEOPLE_EVERY, still: bool = False) -> None:
        self.find, self.still = find, still
        self.camera, self.image_size = camera, image_size
        self.redetect_every = max(1, redetect_every)
        self.tracks: list[Track] = []
        self._last_detection = -(10**9)
        self.detections_run = 0
        # After observe: (placement index, 2D points of the body it saw) of each crop that saw someone
        # else (a body that went to another track, lay off the crop or wore other clothes), so the
        # caller can look again with that body painted over (a person half behind another).
        self.hidden_by: list[tuple[int, np.ndarray]] = []

    # --- before the estimates ----------------------------------------------------------------

    def live(self) -> list[Track]:
        return [t for t in self.tracks if t.state != "lost"]

    def propose(self, frame: Frame) -> list[Placement]:
        """The crops to estimate on this frame (runs the detector when due)."""
        for track in self.live():
            if frame.index - track.last_seen > HIDDEN_FRAMES or not self._inside(track.predict_box(frame.index)):
                log.debug("frame %d: person %d lost", frame.index, track.number)
                track.state = "lost"
        hidden = any(t.state == "hidden" for t in self.tracks)
        since = frame.index - self._last_detection
        if not self.tracks or since >= self.redetect_every or (hidden and since >= REDETECT_HIDDEN_EVERY):
            self._last_detection = frame.index
            self.detections_run += 1
            found = [d for d in self.find(frame.image) if d.box[3] >= MIN_BOX_PX]
            self._associate(frame, found)
        return [Placement(t.number, t.predict_box(frame.index)) for t in self.live()]

    def _inside(self, box: CropBox) -> bool:
        """Whether a person box centred like this crop is still mostly in the picture."""
        width, height = self.image_size
        return -0.1 * box.side < box.cx < width + 0.1 * box.side and -0.1 * box.side < box.cy < height + 0.1 * box.side

    def _detection_position(self, detection: Detection, track: Track) -> np.ndarray | None:
        """Where the detected person stands in the camera frame, if they are `track`'s person."""
        if track.stature_px_m is None:
            return None
        box = CropBox.around(*detection.box)
        depth = track.stature_px_m / box.side
        pixel = np.array([box.cx, box.cy]) - np.asarray(self.camera.principal_pt)
        return np.array([*(pixel * depth / self.camera.focal_px), depth])

    def _cost(self, frame: Frame, detection: Detection, histogram: np.ndarray | None, track: Track) -> float:
        predicted = track.predict_box(frame.index)
        box = CropBox.around(*detection.box)
        motion = math.hypot(box.cx - predicted.cx, box.cy - predicted.cy) / predicted.side
        scale = abs(math.log(box.side / predicted.side))
        if motion > GATE_MOTION * (1 + 0.1 * (frame.index - track.last_seen)) or scale > math.log(LOST_SCALE):
            return math.inf
        if self._stranger(histogram, track):
            return math.inf  # other clothes: someone else, wherever they stand
        cost = motion + scale + looks_like(histogram, track)
        where, expected = self._detection_position(detection, track), track.predict_position(frame.index)
        if where is not None and expected is not None:  # a path guessed for a while is less sure
            cost += float(np.linalg.norm(where - expected)) / (POSITION_M * (1 + 0.2 * (frame.index - track.last_seen)))
        return cost

    def _associate(self, frame: Frame, found: list[Detection]) -> None:
        """Match detections to followed people; re-find lost people; start tracks for newcomers."""
        size = np.array([frame.image.shape[1], frame.image.shape[0]], np.float64)
        histograms = [torso_histogram(frame.image, d.box, None if d.landmarks is None
                                      else d.landmarks[list(BLAZEPOSE_TORSO), :2] * size) for d in found]
        live = self.live()
        cost = np.array([[self._cost(frame, d, h, t) for t in live] for d, h in zip(found, histograms)]) \
            if found and live else np.zeros((len(found), len(live)))
        matched: set[int] = set()
        if cost.size:
            rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e6))
            for r, c in zip(rows, cols):
                if cost[r, c] > GATE_COST:
                    continue
                matched.add(r)
                track = live[c]
                log.debug("frame %d: detection %s is person %d (%s, cost %.2f)", frame.index,
                          [round(v) for v in found[r].box], track.number, track.state, cost[r, c])
                if track.state == "hidden":  # found again by the detector after a crossing
                    others = np.delete(cost[r], c)
                    rivals = np.delete(cost[:, c], r)
                    margin = min(others.min(initial=math.inf), rivals.min(initial=math.inf)) - cost[r, c]
                    self._restart(track, frame.index, found[r], confidence_from_margin(margin))
        for r, detection in enumerate(found):
            if r in matched or len(self.live()) >= MAX_TRACKS:
                continue
            box = CropBox.around(*detection.box)
            inside = [] if self.still else [t for t in self.live() if not self._stranger(histograms[r], t) and
                                            self._overlap(box, t.predict_box(frame.index)) > NEWCOMER_OVERLAP]
            fits = {t.number: looks_like(histograms[r], t) for t in inside}
            hidden = [t for t in inside if t.state == "hidden" and t.views >= LEARNED_VIEWS and fits[t.number] <= REID_MAX]
            if len(hidden) == 1 and all(d > REID_MAX for n, d in fits.items() if n != hidden[0].number):
                # where a hidden person should be, in their clothes and in nobody else's: them
                rival = min((d for n, d in fits.items() if n != hidden[0].number), default=2 * REID_MAX)
                self._restart(hidden[0], frame.index, detection, confidence_from_margin(rival - fits[hidden[0].number]))
                continue
            if inside:
                log.debug("frame %d: detection %s unmatched, inside someone followed (costs %s)", frame.index,
                          [round(v) for v in detection.box], np.round(cost[r], 2) if cost.size else [])
                continue  # part of someone followed already (or someone in front of them)
            self._newcomer(frame.index, detection, histograms[r])

    @staticmethod
    def _stranger(histogram: np.ndarray | None, track: Track) -> bool:
        """Whether a view is clearly not `track`'s person: other clothes than they were seen in."""
        return track.views >= LEARNED_VIEWS and looks_like(histogram, track) > DRIFT_MAX

    @staticmethod
    def _overlap(a: CropBox, b: CropBox) -> float:
        ax, ay, aw, ah = a.xywh()
        bx, by, bw, bh = b.xywh()
        ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
        iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
        return ix * iy / min(aw * ah, bw * bh)

    def _restart(self, track: Track, frame: int, detection: Detection, confidence: float) -> None:
        log.debug("frame %d: person %d found again (identity confidence %.2f)", frame, track.number, confidence)
        track.boxes, track.positions = [], []
        track.see(frame, CropBox.around(*detection.box))
        track.confidence, track.returning = confidence, False

    def _newcomer(self, frame: int, detection: Detection, histogram: np.ndarray | None) -> None:
        """A lost person back in the picture (keeps their number), or a new person."""
        lost = [t for t in self.tracks if t.state != "seen"]  # lost, or hidden and now elsewhere
        distances = sorted((looks_like(histogram, t), i) for i, t in enumerate(lost))
        if distances and distances[0][0] <= REID_MAX:
            best, i = distances[0]
            runner_up = distances[1][0] if len(distances) > 1 else REID_MAX * 2
            margin = min(runner_up, REID_MAX * 2) - best  # against the next lost person, and a stranger
            track = lost[i]
            self._restart(track, frame, detection, confidence_from_margin(margin))
            return
        track = Track(len(self.tracks) + 1, confidence=1.0 if not distances else
                      confidence_from_margin(distances[0][0] - REID_MAX))
        track.see(frame, CropBox.around(*detection.box))
        track.learn_appearance(histogram)
        self.tracks.append(track)
        log.debug("frame %d: new person %d at %s", frame, track.number, [round(v) for v in detection.box])

    # --- after the estimates -----------------------------------------------------------------

    def observe(self, frame: Frame, placements: list[Placement], estimated: dict[str, np.ndarray] | None,
                learn: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Who was really seen in each crop: (valid (P,), identity confidence (P,)).

        `estimated` holds the estimator's joints2d (P, 35, 2), transl (P, 3) and valid (P,).
        learn=False: the picture is doctored (someone painted over); take no colours from it.
        """
        self.hidden_by = []
        count = len(placements)
        ok = np.zeros(count, bool)
        if estimated is not None and count:
            ok = np.asarray(estimated.get("valid", np.ones(count, bool)), bool).copy()
        seen: list[CropBox | None] = [None] * count
        others: list[np.ndarray] = []  # bodies a crop saw that are not its person's
        for i, placement in enumerate(placements):
            if not (ok[i] and np.isfinite(estimated["joints2d"][i]).all()):
                log.debug("frame %d: person %d: nobody found in the crop", frame.index, placement.number)
                continue
            box = box_from_points(estimated["joints2d"][i])
            box = CropBox.around(*(clip_box(box, *self.image_size) if self.still else box))
            offset = math.hypot(box.cx - placement.box.cx, box.cy - placement.box.cy) / placement.box.side
            ratio = box.side / placement.box.side
            if offset <= LOST_OFFSET and 1 / LOST_SCALE <= ratio <= LOST_SCALE:
                seen[i] = box
            else:
                log.debug("frame %d: person %d: the body found is off the crop", frame.index, placement.number)
                self.hidden_by.append((i, estimated["joints2d"][i]))  # someone beside them: look past them
                others.append(estimated["joints2d"][i])
        tracks = {t.number: t for t in self.tracks}
        histograms = [torso_histogram(frame.image, b.xywh(), estimated["joints2d"][i][list(SMPL_TORSO)])
                      if b is not None else None for i, b in enumerate(seen)]
        evidence = [self._evidence(frame, tracks[p.number], seen[i], histograms[i],
                                   estimated["transl"][i] if estimated is not None else None)
                    for i, p in enumerate(placements)]
        for i in range(count):  # two crops on one body: it belongs to the track it fits best
            for j in range(i + 1, count):
                if seen[i] is None or seen[j] is None:
                    continue
                if same_body(seen[i], seen[j]):
                    loser, winner = (j, i) if evidence[i] <= evidence[j] else (i, j)
                    log.debug("frame %d: persons %d and %d see one body: it goes to %d (evidence %.2f vs %.2f)",
                              frame.index, placements[i].number, placements[j].number, placements[winner].number,
                              evidence[winner], evidence[loser])
                    self.hidden_by.append((loser, estimated["joints2d"][winner]))
                    seen[loser] = None
        for i, placement in enumerate(placements):  # a crop that slid onto a neighbour in other clothes
            track = tracks[placement.number]
            if seen[i] is not None and self._stranger(histograms[i], track):
                log.debug("frame %d: person %d's crop shows someone else", frame.index, track.number)
                self.hidden_by.append((i, estimated["joints2d"][i]))
                others.append(estimated["joints2d"][i])
                seen[i] = None
        valid = np.array([s is not None for s in seen], bool)  # bool also when nobody was followed
        confidence = np.zeros(count, np.float32)
        for i, placement in enumerate(placements):
            track = tracks[placement.number]
            if seen[i] is None:
                if track.state == "seen":
                    track.state, track.returning = "hidden", True
                continue
            if track.returning:  # its own crop found it again: how sure is it the same person?
                rivals = [self._evidence(frame, t, seen[i], histograms[i], estimated["transl"][i])
                          for t in self.live() if t is not track and self._overlap(t.predict_box(frame.index), placement.box) > 0.2]
                decided = confidence_from_margin(min(rivals, default=math.inf) - evidence[i])
                brief = frame.index - track.last_seen <= BRIEF_HIDE  # the same stretch goes on, no surer than before
                track.confidence = min(track.confidence, decided) if brief else decided
                track.returning = False
            track.see(frame.index, seen[i], np.asarray(estimated["transl"][i], np.float64))
            crowded = any(iou(seen[i].xywh(), s.xywh()) > 0.05 for k, s in enumerate(seen) if k != i and s is not None)
            if learn and not crowded:  # learn colours only from an unobstructed view
                track.learn_appearance(histograms[i])
            confidence[i] = track.confidence
        if learn:
            self._refind(frame, others, seen)
        return valid, confidence

    def _refind(self, frame: Frame, bodies: list[np.ndarray], seen: list[CropBox | None]) -> None:
        """A body some crop saw that is not its person's, and nobody's this frame, in the clothes of a
        person lost or hidden (and nobody else's): that person, found again there (a crop is the
        detector's eyes between its searches: someone stepping back into the picture beside another)."""
        for points in bodies:
            box = body_box(points)
            if box is None or not self._inside(box) or any(s is not None and same_body(box, s) for s in seen):
                continue
            histogram = torso_histogram(frame.image, box.xywh(), points[list(SMPL_TORSO)])
            away = [t for t in self.tracks if t.state != "seen" and t.views >= LEARNED_VIEWS]
            fits = sorted((looks_like(histogram, t), k) for k, t in enumerate(away))
            if histogram is None or not fits or fits[0][0] > REID_MAX:
                continue
            runner_up = fits[1][0] if len(fits) > 1 else 2 * REID_MAX
            self._restart(away[fits[0][1]], frame.index, Detection(box_from_points(points), 1.0, "crop"),
                          confidence_from_margin(min(runner_up, 2 * REID_MAX) - fits[0][0]))

    def _evidence(self, frame: Frame, track: Track, box: CropBox | None, histogram: np.ndarray | None,
                  transl: np.ndarray | None) -> float:
        """How badly an observed body fits a track (lower = more likely that person)."""
        if box is None:
            return math.inf
        predicted = track.predict_box(frame.index)
        cost = math.hypot(box.cx - predicted.cx, box.cy - predicted.cy) / predicted.side
        cost += looks_like(histogram, track)
        expected = track.predict_position(frame.index)
        if expected is not None and transl is not None and np.all(np.isfinite(transl)):
            cost += float(np.linalg.norm(np.asarray(transl) - expected)) / POSITION_M
        return cost
