"""Hand landmarks on every frame: MediaPipe's hand landmarker on crops placed from the body.

BlazePose gives each wrist and three points of each hand (pinky, index and thumb knuckles), so the
body says where each hand is and which side it belongs to. A square crop around that spot, cut
from the full frame and scaled to the landmarker's input, lets the palm detector and the hand
landmarker (both ship inside the mediapipe wheel; nothing is downloaded) see even a hand a few
dozen pixels wide. Left and right come from the body and MediaPipe's handedness together: the hands
both crops found are pooled (one hand found by both crops counts once) and shared out between the
sides by `assign`, each hand to the side whose body wrist it lies near and whose name its handedness
gives. Where the hands overlap, a crop often finds the other hand, and only the handedness tells
which is which. A read must also sit on the side's own arm (`plausible.belongs`): on footage the
landmarker reads bags, skirts and other people's hands next to a hidden hand. A hand out of the picture, smaller than
MIN_HAND_PX, or not found is marked unseen (score 0) and the fingers fall back to the prior.

On video each side keeps its own landmarker in tracking mode: the crop follows the wrist, so the
hand stays put inside it. MediaPipe's graph still runs its palm detector on every call (it skips it
only while it follows max_num_hands hands, two, and a crop mostly holds one), and on footage most
calls find nothing: the street clip's performer hides her hands for long stretches, and each
such frame cost two reads (the wide crop and the tighter retry). A side whose hand has gone unread
for LOOK_AGAIN_AFTER frames is looked for on every other frame only (`looks_for`): a hand that
comes back is read at most a frame late, and the reads it drops are mostly stray one-frame reads
of bags and other people's hands (docs/hands.md, Time on footage).

On a still, a side whose crops found nothing is looked for once more over the whole reach of its
arm (`HandLandmarker.look_wider`): BlazePose's wrist can be far off a plainly visible hand (a hand
held up at the ear, photo 395, whose wrist BlazePose puts at the chest), and the crop cut round that
wrist then misses it. A hand found there goes to the side only if its wrist lies within the arm's
reach of the elbow, MediaPipe's handedness names that side, it is not the hand the other side
already holds, and `assign` (with the body's wrists, as for the crops' reads) gives it that side.
Video does not look wider: most of a clip's misses are hands truly hidden, and each look is a
palm detector run on a frame the time target has no room for.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..skeleton import HAND_SIDES, NUM_HAND_LANDMARKS
from .plausible import belongs

# BlazePose landmark ids per side: elbow, wrist, pinky, index, thumb.
_BODY_POINTS = {"left": (13, 15, 17, 19, 21), "right": (14, 16, 18, 20, 22)}
CROP_PX = 256  # the crop handed to MediaPipe
# The hand spans about this share of the forearm; the crop is CROP_SCALE hand lengths wide.
HAND_PER_FOREARM = 0.75
# Room round the hand helps the palm detector: on the rendered benchmark 5 hand lengths read 210 of
# 240 hands against 199 at 3.4, with the same error on the hands both read (23.8 vs 23.9 deg).
CROP_SCALE = 5.0
RETRY_SCALE = 0.7  # the second, tighter crop (share of the first's side)
MIN_HAND_PX = 14.0  # hands shorter than this in the picture are too small to read fingers from
MIN_BODY_VISIBILITY = 0.2  # a wrist BlazePose barely believes in does not place a crop
MIN_SCORE = 0.5
# A hand (wrist to middle fingertip, ~0.19 m) is ~0.38 of the torso (shoulders' to hips' midpoints,
# ~0.5 m). A forearm pointing at the camera looks short, and so would the hand it places; the crop
# takes at least HAND_PER_TORSO of the torso's length as the hand's. On the rendered benchmark the
# forearm alone put the hand at a median 0.61 of its true length where the landmarker then missed it.
HAND_PER_TORSO = 0.3
_TORSO_POINTS = (11, 12, 23, 24)  # BlazePose shoulders and hips
_ARM_SHOULDER = {"left": 11, "right": 12}
# Body wrists closer than this many hand lengths: the hands overlap in the picture (see assign).
OVERLAP_HANDS = 1.0
SURE_WRIST = 0.5  # ... when BlazePose's visibility of both wrists is at least this
HANDEDNESS_WEIGHT = 1.0  # what MediaPipe's handedness against a side costs, in hand lengths of wrist distance
# Two reads' landmarks a mean under this share of the (larger) hand apart: one hand found twice. Where
# the hands overlap, reads of the two hands lie 0.22-0.35 of a hand apart on the rendered benchmark.
SAME_HAND = 0.2
# Video: a side unread for this many frames in a row is looked for on every other frame only.
LOOK_AGAIN_AFTER = 4
# Stills: the wider look (look_wider). An arm's length is its upper arm in the picture, and at least
# ARM_PER_TORSO of the torso's (a real upper arm is ~0.3 m against a ~0.5 m torso; an upper arm
# pointing at the camera looks short). The square searched is centred on the elbow, LOOK_ARMS arm
# lengths wide; a hand found there is the arm's own only if its wrist lies within REACH_ARMS of the
# elbow (a forearm is ~0.85 of the upper arm; the rest is room for BlazePose's elbow being off: the
# ten real photos' hands read by the crops lie at 0.6-1.4 arm lengths from their elbows).
ARM_PER_TORSO = 0.55
LOOK_ARMS = 4.0
REACH_ARMS = 1.5


@dataclass
class HandObservation:
    """One frame's hands, index 0 left, 1 right (the person's own sides)."""

    world: np.ndarray  # (2, 21, 3) metric landmarks, camera axes (x right, y down, z away), wrist at 0
    pixels: np.ndarray  # (2, 21, 2) image pixels
    score: np.ndarray  # (2,) 0 = unseen; else MediaPipe's confidence that this is a hand
    size_px: np.ndarray  # (2,) hand length in the picture (wrist to middle knuckle x 2), 0 if unknown
    wide: np.ndarray | None = None  # (2,) bool: found by the wider look, away from BlazePose's wrist

    @staticmethod
    def unseen(count: int = 1) -> "HandObservation":
        return HandObservation(np.zeros((2, NUM_HAND_LANDMARKS, 3)), np.zeros((2, NUM_HAND_LANDMARKS, 2)),
                               np.zeros(2), np.zeros(2), np.zeros(2, bool))


def hand_box(pose_pixels: np.ndarray, side: str) -> tuple[float, float, float] | None:
    """(cx, cy, side length) of the crop for one hand from BlazePose pixels (33, 3: x, y, visibility)."""
    elbow, wrist, pinky, index, thumb = (pose_pixels[i] for i in _BODY_POINTS[side])
    if wrist[2] < MIN_BODY_VISIBILITY:
        return None
    knuckles = (pinky[:2] + index[:2]) / 2
    along = knuckles - wrist[:2]
    forearm = np.linalg.norm(wrist[:2] - elbow[:2])
    length = max(HAND_PER_FOREARM * forearm, 2.0 * np.linalg.norm(along), HAND_PER_TORSO * torso_length(pose_pixels),
                 1e-6)
    direction = along / max(np.linalg.norm(along), 1e-6)
    centre = wrist[:2] + 0.45 * length * direction
    return float(centre[0]), float(centre[1]), float(CROP_SCALE * length)


def reach_box(pose_pixels: np.ndarray, side: str) -> tuple[float, float, float, float] | None:
    """(cx, cy, side length, arm length) of the square round one elbow that the arm's hand can lie in,
    from BlazePose pixels (33, 3); None when BlazePose barely sees the elbow."""
    elbow = pose_pixels[_BODY_POINTS[side][0]]
    shoulder = pose_pixels[_ARM_SHOULDER[side]]
    if elbow[2] < MIN_BODY_VISIBILITY:
        return None
    upper = np.linalg.norm(elbow[:2] - shoulder[:2]) if shoulder[2] >= MIN_BODY_VISIBILITY else 0.0
    arm = max(upper, ARM_PER_TORSO * torso_length(pose_pixels))
    if arm <= 0.0:
        return None
    return float(elbow[0]), float(elbow[1]), float(LOOK_ARMS * arm), float(arm)


def torso_length(pose_pixels: np.ndarray) -> float:
    """Shoulders' midpoint to hips' midpoint in pixels, 0 when BlazePose barely sees any of the four."""
    points = pose_pixels[list(_TORSO_POINTS)]
    if np.any(points[:, 2] < MIN_BODY_VISIBILITY):
        return 0.0
    return float(np.linalg.norm(points[:2, :2].mean(axis=0) - points[2:, :2].mean(axis=0)))


def cut_square(image: np.ndarray, cx: float, cy: float, side: float, size: int = CROP_PX) -> np.ndarray:
    """An axis-aligned square of the image (zero outside it), scaled to size x size."""
    scale = size / side
    affine = np.array([[scale, 0.0, size / 2 - scale * cx], [0.0, scale, size / 2 - scale * cy]])
    return cv2.warpAffine(image, affine, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def with_image_xy(world: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Metric landmarks (21, 3) whose x, y are the (sharper) image landmarks, scaled to metres by the
    palm's size, and whose depth is the landmarker's own (a weak-perspective fusion of the two)."""
    d = pixels - pixels[0]
    palm = [5, 9, 13, 17]
    scale = np.median(np.linalg.norm(world[palm, :2], axis=1) / np.maximum(np.linalg.norm(d[palm], axis=1), 1e-6))
    return np.c_[d * scale, world[:, 2]]


@dataclass
class HandRead:
    """One hand the landmarker found in one side's crop."""

    pixels: np.ndarray  # (21, 2) image pixels
    world: np.ndarray  # (21, 3) metric landmarks, wrist at 0
    score: float
    left_vote: float  # MediaPipe's handedness as a vote: +score for the person's left hand, -score for the right
    crop: int  # the side whose crop found it
    # found by the wider look over the arm's reach (HandLandmarker.look_wider; BlazePose's wrist is wrong): see
    # plausible.arm_fit
    wide: bool = False

    @property
    def length(self) -> float:
        """The hand's length in the picture (wrist to middle knuckle x 2), as HandObservation.size_px."""
        return float(2.0 * np.linalg.norm(self.pixels[9] - self.pixels[0]))

    def names(self, h: int) -> bool:
        """Whether MediaPipe's handedness says this is side h's hand (0 left, 1 right)."""
        return self.left_vote * (1.0 if h == 0 else -1.0) > 0.0

    def same_hand(self, other: "HandRead") -> bool:
        """Whether the two reads are one hand found twice (landmarks a mean under SAME_HAND of a hand apart)."""
        size = max(self.length, other.length)
        return bool(np.linalg.norm(self.pixels - other.pixels, axis=1).mean() < SAME_HAND * size)


def assign(reads: list[HandRead], wrists: np.ndarray, hand_px: np.ndarray, cropped: np.ndarray,
           pose_pixels: np.ndarray | None = None) -> list[HandRead | None]:
    """Each side's read (left, right) among all hands both crops found, or None: unseen. wrists (2, 3):
    BlazePose's, pixels and visibility; hand_px (2,): the hand lengths the crops were cut for; cropped (2,): bool;
    pose_pixels (33, 3): BlazePose's, to keep only reads that sit on the side's own arm (`plausible.belongs`:
    not a bag, a skirt or someone else's hand); without it every read near the wrist may be kept.

    Reads whose landmarks overlap are one hand found twice. Each hand goes to at most one side, as
    many sides as possible get one, and among those choices the cheapest wins: a read's wrist distance
    from the side's body wrist in hand lengths, plus HANDEDNESS_WEIGHT when MediaPipe's handedness
    says the other side. A hand must also lie nearer its own side's body wrist than the other's, unless
    the hands overlap: BlazePose sees both wrists (SURE_WRIST) within OVERLAP_HANDS hand lengths of
    each other. There its wrists may sit on either hand (a crop's strongest read can be the other
    hand, with every landmark on it), and only the handedness tells the hands apart. A wrist BlazePose
    barely sees next to the other is its guess at a hand it did not find (a baseball glove on one
    hand of photo 474): the body's arms reach for the wrist it does see, and so does the read."""
    groups: list[list[HandRead]] = []
    for read in reads:
        for group in groups:
            size = 2.0 * max(np.linalg.norm(r.pixels[9] - r.pixels[0]) for r in (read, group[0]))
            if np.linalg.norm(group[0].pixels - read.pixels, axis=1).mean() < SAME_HAND * size:
                group.append(read)
                break
        else:
            groups.append([read])
    length = np.maximum(hand_px, 1.0)
    overlap = (np.linalg.norm(wrists[0, :2] - wrists[1, :2]) < OVERLAP_HANDS * length.max()
               and wrists[:, 2].min() >= SURE_WRIST)

    def cost(group: list[HandRead], h: int) -> float | None:
        mine, theirs = (np.mean([np.linalg.norm(r.pixels[0] - wrists[k, :2]) for r in group]) for k in (h, 1 - h))
        if not cropped[h] or mine > 0.6 * CROP_SCALE * length[h] or (not overlap and mine > theirs):
            return None  # too far from this side's wrist, or (hands apart) nearer the other's
        if pose_pixels is not None and not belongs(np.mean([r.pixels for r in group], axis=0), pose_pixels, h, length[h],
                                                   wide=any(r.wide for r in group)):
            return None  # not this arm's hand: a bag, a skirt, someone else's hand
        vote = np.mean([r.left_vote for r in group]) * (1.0 if h == 0 else -1.0)  # +1: says side h
        return mine / length[h] + HANDEDNESS_WEIGHT * (1.0 - vote) / 2.0

    costs_of = [[cost(group, h) for h in range(2)] for group in groups]  # [group][side], None: not allowed
    best, best_key = [None, None], (0, 0.0)
    for left in [None, *range(len(groups))]:
        for right in [None, *range(len(groups))]:
            if left is not None and left == right:
                continue
            costs = [costs_of[g][h] for h, g in enumerate((left, right)) if g is not None]
            if any(c is None for c in costs):
                continue
            key = (len(costs), -sum(costs))
            if key > best_key:
                best, best_key = [left, right], key
    return [None if g is None else max(groups[g], key=lambda r: (r.crop == h, r.score)) for h, g in enumerate(best)]


class HandLandmarker:
    """Finds both hands of one person per frame (see the module docstring)."""

    def __init__(self, video: bool = False) -> None:
        from ..inference.detect import _native_stderr_silenced

        try:
            from mediapipe.python.solutions import hands
        except ImportError as exc:  # pragma: no cover - mediapipe is a backend requirement
            raise RuntimeError("Finger capture needs mediapipe (`python dev.py setup`).") from exc
        with _native_stderr_silenced():
            self._graphs = {side: hands.Hands(static_image_mode=not video, max_num_hands=2, model_complexity=1,
                                              min_detection_confidence=MIN_SCORE, min_tracking_confidence=MIN_SCORE)
                            for side in HAND_SIDES}
        self._silence = _native_stderr_silenced
        self.video = video
        self.unread = np.zeros(2, int)  # video: frames in a row each side's hand has gone unread
        self.last_frame: int | None = None  # video: the source frame number of the last find

    def find(self, image_bgr: np.ndarray, pose_pixels: np.ndarray, frame: int | None = None) -> HandObservation:
        """Both hands in one frame; pose_pixels (33, 3): BlazePose x, y (pixels), visibility,
        with the person's own left/right (already swapped for mirrored footage); frame: the
        source frame number (video), so the frames a long-hidden hand is looked for on are the
        same whichever frame the run started from (see looks_for)."""
        out = HandObservation.unseen()
        height, width = image_bgr.shape[:2]
        wrists = np.array([pose_pixels[_BODY_POINTS[side][1]] for side in HAND_SIDES])
        reads: list[HandRead] = []
        cropped = np.zeros(2, bool)
        for h, side in enumerate(HAND_SIDES):
            box = hand_box(pose_pixels, side)
            if box is None:
                continue
            cx, cy, length = box
            size_px = length / CROP_SCALE
            out.size_px[h] = size_px
            if size_px < MIN_HAND_PX or not (0 <= cx < width and 0 <= cy < height):
                continue
            cropped[h] = True  # (a hand the other side's crop finds may still go to this side)
            if not self.looks_for(h, frame):
                continue
            for scale in (1.0, RETRY_SCALE):  # a tighter crop when the wide one finds nothing
                found = self._reads(image_bgr, h, (cx, cy, length * scale))
                if found:
                    reads += found
                    break
        chosen = assign(reads, wrists, out.size_px, cropped, pose_pixels)
        if not self.video and None in chosen:
            chosen = self.look_wider(image_bgr, pose_pixels, chosen, wrists, out.size_px, cropped)
        for h, read in enumerate(chosen):
            if read is not None:
                out.pixels[h], out.world[h], out.score[h] = read.pixels, with_image_xy(read.world, read.pixels), read.score
                if read.wide:  # the crop was cut for BlazePose's hand, which this is not
                    out.size_px[h], out.wide[h] = read.length, True
        self.unread = np.where(out.score > 0, 0, self.unread + 1)
        self.last_frame = frame
        return out

    def looks_for(self, h: int, frame: int | None = None) -> bool:
        """Whether side h's crop is read this frame: always on stills; on video, every frame until its
        hand has gone unread for LOOK_AGAIN_AFTER frames in a row, then every other frame. With the
        source frame number the other frame is picked by the frame's own number (even steps of the
        clip's stride), not by the length of the streak: a batch piece whose run starts mid-streak
        then reads the same frames as the whole clip's run once its warm-up has passed
        LOOK_AGAIN_AFTER frames, so the pieces join without a seam."""
        late = self.unread[h] - LOOK_AGAIN_AFTER
        if not self.video or late < 0:
            return True
        if frame is None or self.last_frame is None:
            return late % 2 == 0
        stride = abs(frame - self.last_frame) or 1  # read-backs go backwards; a clip may skip frames
        return (frame // stride) % 2 == 0

    def look_wider(self, image_bgr: np.ndarray, pose_pixels: np.ndarray, chosen: list[HandRead | None],
                   wrists: np.ndarray, hand_px: np.ndarray, cropped: np.ndarray) -> list[HandRead | None]:
        """The sides `assign` left unseen looked for again over the square their arm reaches (reach_box),
        one landmarker read per side (stills). A hand found there is kept for side h only if its wrist
        lies within REACH_ARMS arm lengths of h's elbow, MediaPipe's handedness names h, and it is not
        the hand a side already holds; then `assign` shares the crops' hands and these out with the
        body's wrists, as it does the crops' reads, and the sides already read keep their reads."""
        found: list[HandRead] = []
        hand_px = hand_px.copy()
        for h, side in enumerate(HAND_SIDES):
            box = reach_box(pose_pixels, side) if chosen[h] is None and cropped[h] else None
            if box is None:
                continue
            cx, cy, length, arm = box
            # the hand the arm implies (a forearm about as long as the upper arm): the crop's came from
            # BlazePose's forearm, cut short at its misplaced wrist (395: 71 px for a 123 px hand)
            hand_px[h] = max(hand_px[h], HAND_PER_FOREARM * arm)
            for read in self._reads(image_bgr, h, (cx, cy, length)):
                if (read.names(h) and read.length >= MIN_HAND_PX
                        and np.linalg.norm(read.pixels[0] - (cx, cy)) <= REACH_ARMS * arm
                        and not any(held is not None and read.same_hand(held) for held in chosen)):
                    found.append(replace(read, wide=True))
        if not found:
            return chosen
        again = assign([read for read in chosen if read is not None] + found, wrists, hand_px, cropped, pose_pixels)
        return [held if held is not None else read if read is not None and read.wide and read.names(h) else None
                for h, (held, read) in enumerate(zip(chosen, again))]

    def _reads(self, image_bgr: np.ndarray, h: int, box: tuple[float, float, float]) -> list["HandRead"]:
        """Every hand the landmarker finds in the crop `box` cut for side h, in image pixels."""
        cx, cy, length = box
        crop = cut_square(image_bgr, cx, cy, length)
        with self._silence():
            found = self._graphs[HAND_SIDES[h]].process(np.ascontiguousarray(crop[:, :, ::-1]))
        if not found.multi_hand_landmarks:
            return []
        reads = []
        for lms, world, handed in zip(found.multi_hand_landmarks, found.multi_hand_world_landmarks,
                                      found.multi_handedness):
            crop_xy = np.array([(p.x, p.y) for p in lms.landmark]) * CROP_PX
            metric = np.array([(p.x, p.y, p.z) for p in world.landmark])
            # MediaPipe names hands as seen in a mirror: its "Left" is the person's right hand
            label = handed.classification[0]
            reads.append(HandRead((crop_xy - CROP_PX / 2) * length / CROP_PX + (cx, cy), metric - metric[0],
                                  label.score, label.score * (1.0 if label.label.lower() == "right" else -1.0), h))
        return reads

    def close(self) -> None:
        for graph in self._graphs.values():
            graph.close()
        self._graphs = {}
