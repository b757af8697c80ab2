"""Which frames the smoother works on: observed frames, short gaps bridged, long gaps split.

A frame without a person inside a gap of at most `max_gap_s` seconds between two observed frames
is bridged (the motion model carries the pose across; its uncertainty grows there). A longer gap
splits the clip: the segments on either side are smoothed independently and the frames in the
gap stay without a person. Time steps come from the source frame numbers and the frame rate, so
strided runs (`--frames 0:300:2`) and dropped frames get the right Δt.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_GAP_S = 0.5
DEFAULT_FPS = 30.0  # for files that do not state a frame rate


@dataclass
class Plan:
    rows: np.ndarray  # (n,) indices of the results rows the smoother estimates
    observed: np.ndarray  # (n,) which of them carry a measurement
    dt: np.ndarray  # (n−1,) seconds between consecutive rows
    reset: np.ndarray  # (n−1,) True where a long gap splits the clip
    bridged: int  # rows filled in without a measurement


def plan(frame_index: np.ndarray, valid: np.ndarray, fps: float, max_gap_s: float = MAX_GAP_S) -> Plan:
    fps = float(fps) if fps and fps > 0 else DEFAULT_FPS
    valid = np.asarray(valid, bool)
    frames = np.asarray(frame_index, dtype=np.float64)
    good = np.flatnonzero(valid)
    keep = valid.copy()
    for a, b in zip(good[:-1], good[1:]):
        if b - a > 1 and (frames[b] - frames[a]) / fps <= max_gap_s:
            keep[a + 1:b] = True
    rows = np.flatnonzero(keep)
    dt = np.diff(frames[rows]) / fps
    # a step from the last row before a long gap to the first after it
    reset = np.diff(rows) > 1
    dt = np.where(dt > 0, dt, 1.0 / fps)
    return Plan(rows=rows, observed=valid[rows], dt=dt, reset=reset, bridged=int(keep.sum() - valid.sum()))
