"""Fitting the body's phenotype (height, proportions, gender) to the footage's bone lengths.

BlazePose's world landmarks are metric, so limb lengths between its joints say how tall the
performer is and how their limbs relate to the trunk. One frame is noisy (foreshortening errors,
occluded limbs, mislabelled sides), so lengths are gathered over the whole clip and summarised per
bone by the median of the frames where both ends were clearly seen; left and right are pooled.
The phenotype then minimises the squared length mismatch of Anny's rest skeleton with a weak pull
towards the average adult. Muscle and weight change girth, not bone lengths, so they stay
average; age stays adult (children are not supported by the instant-mode priors either).
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import least_squares

from ..skeleton import SMPL_JOINT_NAMES
from .anny_body import DEFAULT_PHENOTYPE, AnnyBody
from .anny_source import PHENOTYPE_LABELS

# BlazePose landmark indices (mediapipe's pose landmark order).
_LANDMARK = {"left_shoulder": 11, "right_shoulder": 12, "left_elbow": 13, "right_elbow": 14,
             "left_wrist": 15, "right_wrist": 16, "left_hip": 23, "right_hip": 24,
             "left_knee": 25, "right_knee": 26, "left_ankle": 27, "right_ankle": 28}
# Bones measured: name -> ((from, to) per side), endpoints named as SMPL joints and landmarks alike.
BONES: dict[str, tuple[tuple[str, str], ...]] = {
    "upper_arm": (("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow")),
    "forearm": (("left_elbow", "left_wrist"), ("right_elbow", "right_wrist")),
    "thigh": (("left_hip", "left_knee"), ("right_hip", "right_knee")),
    "shin": (("left_knee", "left_ankle"), ("right_knee", "right_ankle")),
}
FITTED = ("gender", "height", "proportions")
MIN_VISIBILITY = 0.7
MIN_FRAMES = 5  # fewer clear views than this per bone: that bone is not used
# Pull towards the average adult, phenotype units per fitted parameter: height is what bone
# lengths tell best; gender and proportions move only with clear evidence (BlazePose's joint
# placement differs a little from Anny's, which would otherwise push them to their bounds).
PRIOR_SIGMA = np.array([0.2, 0.5, 0.2])
LENGTH_SIGMA = 0.01  # metres; what a median bone length is trusted to


def _torso(points: np.ndarray, index: dict[str, int]) -> np.ndarray:
    """Mid-shoulder to mid-hip distance of (..., N, 3) points."""
    mid = lambda a, b: 0.5 * (points[..., index[a], :] + points[..., index[b], :])  # noqa: E731
    return np.linalg.norm(mid("left_shoulder", "right_shoulder") - mid("left_hip", "right_hip"), axis=-1)


class PhenotypeFit:
    """Collects bone lengths frame by frame and fits the phenotype to their robust summary."""

    def __init__(self, anny: AnnyBody) -> None:
        self.anny = anny
        self.reset()

    def reset(self) -> None:
        """Forget every frame seen: the next clip's body is fitted to that clip alone."""
        self._frames: list[np.ndarray] = []  # source frame numbers of the frames observed
        # Per observation: (frames, sides) lengths in metres, NaN where the bone was not seen clearly.
        self._lengths: dict[str, list[np.ndarray]] = {name: [] for name in (*BONES, "torso")}
        self._fitted: tuple[int, np.ndarray] | None = None

    def observe(self, world: np.ndarray, visibility: np.ndarray, valid: np.ndarray,
                frames: np.ndarray | None = None) -> None:
        """Add frames: world landmarks (T, 33, 3) metres, visibility (T, 33), valid (T,) bool, and
        their source frame numbers (T,) (kept so that a clip estimated in pieces can be refitted)."""
        world, visibility = world[valid], visibility[valid]
        frames = np.arange(len(valid)) if frames is None else np.asarray(frames)
        self._frames.append(frames[valid].astype(np.int64))
        for name, pairs in BONES.items():
            sides = []
            for a, b in pairs:
                seen = np.minimum(visibility[:, _LANDMARK[a]], visibility[:, _LANDMARK[b]]) >= MIN_VISIBILITY
                length = np.linalg.norm(world[:, _LANDMARK[a]] - world[:, _LANDMARK[b]], axis=-1)
                sides.append(np.where(seen, length, np.nan))
            self._lengths[name].append(np.stack(sides, axis=1))
        ends = [_LANDMARK[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
        seen = visibility[:, ends].min(axis=1) >= MIN_VISIBILITY
        self._lengths["torso"].append(np.where(seen, _torso(world, _LANDMARK), np.nan)[:, None])

    def evidence(self) -> dict[str, np.ndarray]:
        """Everything observed, per frame: "frame" (T,) and each bone's (T, sides) lengths (NaN: unseen)."""
        out = {"frame": np.concatenate(self._frames) if self._frames else np.zeros(0, np.int64)}
        for name, parts in self._lengths.items():
            out[name] = np.concatenate(parts) if parts else np.zeros((0, 1 if name == "torso" else 2))
        return out

    def add_evidence(self, evidence: dict[str, np.ndarray], keep: np.ndarray | None = None) -> None:
        """Add frames another fit observed (`evidence()`), those where `keep` is True."""
        keep = np.ones(len(evidence["frame"]), bool) if keep is None else np.asarray(keep, bool)
        self._frames.append(np.asarray(evidence["frame"])[keep])
        for name in self._lengths:
            self._lengths[name].append(np.asarray(evidence[name])[keep])

    def measured(self) -> dict[str, float]:
        """Median length (metres) of every bone seen clearly often enough."""
        out = {}
        for name, parts in self._lengths.items():
            values = np.concatenate([p.ravel() for p in parts]) if parts else np.zeros(0)
            values = values[np.isfinite(values)]
            if len(values) >= MIN_FRAMES:
                out[name] = float(np.median(values))
        return out

    def trailing(self, frames: np.ndarray, window: int) -> dict[str, np.ndarray]:
        """Per source frame f of `frames` (T,), each bone's median length over the frames observed
        in (f - window, f], sides pooled; NaN with fewer than MIN_FRAMES clear views. It depends on
        the frames just before only, so a clip estimated in pieces whose warm-up spans at least
        `window` source frames measures the same lengths on every kept frame."""
        evidence = self.evidence()
        order = np.argsort(evidence["frame"], kind="stable")
        seen = evidence["frame"][order]
        frames = np.asarray(frames)
        stops = np.searchsorted(seen, frames, side="right")
        starts = np.searchsorted(seen, frames - window, side="right")
        out = {}
        for name in BONES:
            lengths = evidence[name][order]
            values = np.full(len(stops), np.nan)
            for k, (start, stop) in enumerate(zip(starts, stops)):
                last = lengths[start:stop].ravel()
                last = last[np.isfinite(last)]
                if len(last) >= MIN_FRAMES:
                    values[k] = np.median(last)
            out[name] = values
        return out

    def model_lengths(self, phenotype: torch.Tensor) -> dict[str, torch.Tensor]:
        """The same bones on Anny's rest skeleton for (B, 6) phenotypes."""
        joints = self.anny.anny_joints(phenotype)
        j = {name: joints[:, k] for k, name in enumerate(SMPL_JOINT_NAMES)}
        out = {name: 0.5 * sum((j[a] - j[b]).norm(dim=-1) for a, b in pairs) for name, pairs in BONES.items()}
        out["torso"] = (0.5 * (j["left_shoulder"] + j["right_shoulder"]) - 0.5 * (j["left_hip"] + j["right_hip"])).norm(dim=-1)
        return out

    def phenotype(self) -> np.ndarray:
        """(6,) fitted phenotype (the average adult when too little was seen)."""
        measured = self.measured()
        count = sum(int(np.isfinite(p).sum()) for parts in self._lengths.values() for p in parts)
        if self._fitted is not None and self._fitted[0] == count:
            return self._fitted[1]
        result = DEFAULT_PHENOTYPE.copy()
        if len(measured) >= 2:
            names = sorted(measured)
            target = np.array([measured[n] for n in names])
            free = [PHENOTYPE_LABELS.index(n) for n in FITTED]

            def residuals(x: np.ndarray) -> np.ndarray:
                phen = DEFAULT_PHENOTYPE.copy()
                phen[free] = x
                with torch.no_grad():
                    lengths = self.model_lengths(torch.as_tensor(phen)[None])
                model = np.array([float(lengths[n][0]) for n in names])
                return np.concatenate([(model - target) / LENGTH_SIGMA,
                                       (x - DEFAULT_PHENOTYPE[free]) / PRIOR_SIGMA])

            fit = least_squares(residuals, DEFAULT_PHENOTYPE[free], bounds=(0.0, 1.0), diff_step=1e-3)
            result[free] = fit.x
        self._fitted = (count, result)
        return result
