"""A learned correction of the hand landmarker's reads: from MediaPipe's 21 landmarks to the finger
joints' flexion, abduction and twist.

MediaPipe's landmarks err systematically on rendered hands: every hand is read towards a middling
curl (fists under-curled by ~77° of summed bend per finger, open hands over-curled by ~17°,
docs/hands.md). A ridge regression from the read hand, normalised into its own palm frame (so the
wrist's turn and the hand's size drop out) together with the direction it is seen from, to the 15
joints' swing-twist components learns that bias and removes what of it the reads can tell. It was
fitted on hands rendered by the project's renderer in random poses within the anatomical limits
(never the benchmark's frames or named poses) and read by MediaPipe exactly as the product reads
them; `python -m propose_backend.train.hand_correction` regenerates the weights (docs/hands.md,
*The read correction*). Left hands are mirrored into right ones, so one map serves both.

**Off by default** (FingerSolver(corrected=True) turns it on): on the renders it takes the finger
error from 22.3° to 21.2°, but on real photos it curls open hands the landmarker reads well (photo
474), since the bias it learned is the renders' (docs/hands.md, *The read correction*).

The corrected joint angles are turned back into landmarks (the rest hand posed by them under the
read palm) and go into the unchanged closed-form finger posterior as its observation, with one
concentration per bone measured from held-out residuals of the correction and a temperature that
grows with the read curl, fitted on the same held-out reads.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..anatomy import _compose
from .fingers import HandAnatomy, hand_landmarks

WEIGHTS_FILE = Path(__file__).with_name("read_correction.npz")
MIRROR = np.diag([-1.0, 1.0, 1.0])  # camera x -> -x: a left hand seen as a right one
PALM_POINTS = (0, 5, 9, 13, 17)  # wrist and the four knuckles


def palm_frame(world: np.ndarray) -> np.ndarray:
    """(B, 3, 3) columns (wrist -> middle knuckle, across the palm, palm's normal) of right-hand
    landmarks (B, 21, 3)."""
    along = world[:, 9] - world[:, 0]
    along = along / np.maximum(np.linalg.norm(along, axis=-1, keepdims=True), 1e-9)
    normal = np.cross(world[:, 5] - world[:, 0], world[:, 17] - world[:, 0])
    normal = normal - (normal * along).sum(-1, keepdims=True) * along
    normal = normal / np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-9)
    return np.stack([along, np.cross(normal, along), normal], axis=-1)


def read_features(world: np.ndarray, side: int) -> np.ndarray:
    """(B, 63) what the correction sees of read landmarks (B, 21, 3) in camera-like axes (z along
    the line of sight, as the landmarker gives them): the 20 non-wrist landmarks in the hand's own
    palm frame over the wrist-to-middle-knuckle length, and the line of sight in that frame (the
    landmarker's depth errs along it). Left hands (side 0) are mirrored into right ones first."""
    world = np.asarray(world, dtype=np.float64)
    if side == 0:
        world = world @ MIRROR
    world = world - world[:, :1]
    frame = palm_frame(world)
    scale = np.maximum(np.linalg.norm(world[:, 9], axis=-1), 1e-9)
    local = np.einsum("bji,bkj->bki", frame, world) / scale[:, None, None]
    return np.concatenate([local[:, 1:].reshape(len(world), -1), frame[:, 2, :]], axis=1)


def palm_rotation(rest: np.ndarray, world: np.ndarray) -> np.ndarray:
    """(B, 3, 3) the rotation that best carries the rest hand's palm (21, 3) onto each read palm
    (B, 21, 3) (least squares over the wrist and knuckles)."""
    a = rest[list(PALM_POINTS)] - rest[0]
    b = world[:, list(PALM_POINTS)] - world[:, :1]
    U, _, Vt = np.linalg.svd(np.einsum("pi,bpj->bij", a, b))
    d = np.sign(np.linalg.det(U @ Vt))
    D = np.zeros((len(world), 3, 3))
    D[:, 0, 0] = D[:, 1, 1] = 1.0
    D[:, 2, 2] = d
    return np.swapaxes(U @ D @ Vt, -1, -2)


@dataclass(frozen=True)
class ReadCorrection:
    """The fitted map and its held-out error model (one file, see WEIGHTS_FILE)."""

    mean: np.ndarray  # (63,) feature means
    scale: np.ndarray  # (63,) feature spreads
    weights: np.ndarray  # (64, 45) standardised features and 1 -> right-hand components (15 x 3, radians)
    kappa: np.ndarray  # (15,) concentration of each corrected bone's direction (1 / rad^2)
    t0: float  # temperature t0 (1 + (read curl / curl_deg)^2), capped at max_temperature
    curl_deg: float
    max_temperature: float

    @staticmethod
    def load(path: Path = WEIGHTS_FILE) -> "ReadCorrection":
        try:
            with np.load(path) as f:
                return ReadCorrection(f["mean"], f["scale"], f["weights"], f["kappa"], float(f["t0"]),
                                      float(f["curl_deg"]), float(f["max_temperature"]))
        except (OSError, KeyError, ValueError) as exc:
            raise RuntimeError(f"The hand read correction {path} is missing or damaged; regenerate it with "
                               "`python -m propose_backend.train.hand_correction` (docs/hands.md).") from exc

    def save(self, path: Path) -> None:
        np.savez_compressed(path, mean=self.mean.astype(np.float32), scale=self.scale.astype(np.float32),
                            weights=self.weights.astype(np.float32), kappa=self.kappa.astype(np.float32),
                            t0=self.t0, curl_deg=self.curl_deg, max_temperature=self.max_temperature)

    def components(self, world: np.ndarray, side: int) -> np.ndarray:
        """(B, 15, 3) corrected swing-twist components (flexion, abduction, twist; radians) of read
        landmarks (B, 21, 3) of one side, in that side's joint frames."""
        z = (read_features(world, side) - self.mean) / self.scale
        comp = (np.c_[z, np.ones(len(z))] @ self.weights).reshape(-1, 15, 3)
        if side == 0:  # mirrored back: flexion keeps its sign, abduction and twist change it
            comp = comp * np.array([1.0, -1.0, -1.0])
        return comp

    def temperature(self, read_curl_deg: np.ndarray) -> np.ndarray:
        """(B,) the spread's temperature for hands whose reads look this curled (degrees)."""
        return np.minimum(self.t0 * (1.0 + (np.asarray(read_curl_deg) / self.curl_deg) ** 2), self.max_temperature)

    def landmarks(self, anatomy: HandAnatomy, side: int, world: np.ndarray) -> np.ndarray:
        """(B, 21, 3) the rest hand posed by the corrected joints (clamped into the limits) under the
        read palm, wrist at 0: the observation the finger posterior is given instead of the read."""
        comp = torch.as_tensor(self.components(world, side))
        comp = torch.maximum(torch.minimum(comp, anatomy.high[side]), anatomy.low[side])
        local = _compose(comp, anatomy.frames[side])
        rest = anatomy.rest[side].numpy()
        palm = torch.as_tensor(palm_rotation(rest, np.asarray(world, dtype=np.float64) - world[:, :1]))
        return hand_landmarks(anatomy, side, local, palm).numpy()


@lru_cache(maxsize=1)
def shipped() -> ReadCorrection:
    """The correction shipped with the backend (read once)."""
    return ReadCorrection.load()
