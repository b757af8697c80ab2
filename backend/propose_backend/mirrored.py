"""Mirrored footage (`--mirrored`, docs/inference.md, Mirrored footage), one step both estimators take.

A mirror image shows a figure of the other handedness. Each estimator reads that figure as seen,
hands included; then the figure is reflected in depth about its pelvis with its sides swapped
(the geometry is geometry.reflect_*): a real body of the person's own handedness, which keeps its
place in the image. The fingers are solved after this step, on the reflected body and hands.
"""
from __future__ import annotations

import numpy as np

from .geometry import reflect_local_rotations, reflect_points, reflect_posterior, side_swap
from .hands.solve import HandBatch
from .inference.crop import ImageCamera


def mirror_estimate(fields: dict[str, np.ndarray], hands: HandBatch, camera: ImageCamera) -> None:
    """In place: the body fields of a batch (mode, ghosts, posterior, uncertainty, points; betas and
    the ghosts' log densities are unchanged, the pelvis `transl` is kept and `joints2d` reprojected)
    and the hands seen (each goes to the other side, reflected in depth about its wrist)."""
    fields["rotmats"] = reflect_local_rotations(fields["rotmats"])
    fields["samples"] = reflect_local_rotations(fields["samples"])
    fields["posterior_F"] = reflect_posterior(fields["posterior_F"])
    fields["uncertainty_deg"] = fields["uncertainty_deg"][..., side_swap(fields["uncertainty_deg"].shape[-1])]
    fields["joints3d"] = reflect_points(fields["joints3d"])
    fields["joints2d"] = camera.project(fields["joints3d"] + fields["transl"][:, None]).astype(fields["joints2d"].dtype)
    hands.mirror()
