"""Mirrored footage (`--mirrored`, docs/inference.md, Mirrored footage), one step both estimators take.

A mirror image shows a figure of the other handedness. Each estimator reads that figure as seen,
hands included; then the whole estimate is reflected across the camera's vertical plane (camera
x -> -x) with its sides swapped (the geometry is geometry.reflect_*). That reflection maps the camera
to itself and the footage to its left-right flip: the result is the person as they were, facing
the camera as they did, and its image lies exactly on the footage flipped about the principal point
(results meta `mirrored`; the add-on shows the footage flipped). The fingers are solved after this
step, on the reflected body and hands. The trackers follow the footage as it is
(inference.protocol.as_seen).
"""
from __future__ import annotations

import numpy as np

from .geometry import (
    CAMERA_REFLECTION,
    flip_pixels,
    reflect_local_rotations,
    reflect_points,
    reflect_posterior,
    side_swap,
)
from .hands.solve import HandBatch
from .inference.crop import ImageCamera


def mirror_estimate(fields: dict[str, np.ndarray], hands: HandBatch, camera: ImageCamera) -> None:
    """In place: the body fields of a batch (mode, ghosts, posterior, uncertainty, points, the
    pelvis and the overlay; betas and the ghosts' log densities are unchanged, a reflection is an
    isometry) and the hands seen (each goes to the other side, reflected the same way)."""
    centre_x = float(camera.principal_pt[0])
    fields["rotmats"] = reflect_local_rotations(fields["rotmats"])
    fields["samples"] = reflect_local_rotations(fields["samples"])
    fields["posterior_F"] = reflect_posterior(fields["posterior_F"])
    fields["uncertainty_deg"] = fields["uncertainty_deg"][..., side_swap(fields["uncertainty_deg"].shape[-1])]
    fields["joints3d"] = reflect_points(fields["joints3d"])
    fields["transl"] = np.ascontiguousarray(fields["transl"] * np.diag(CAMERA_REFLECTION), dtype=fields["transl"].dtype)
    fields["joints2d"] = flip_pixels(fields["joints2d"][..., side_swap(fields["joints2d"].shape[-2]), :], centre_x)
    hands.mirror(centre_x)

