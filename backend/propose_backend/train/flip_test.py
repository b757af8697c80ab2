"""Flip test (docs/model.md, Flip test): average the prediction of a crop with that of its mirror image.

The mirrored crop's heatmaps are mirrored back (flip along W, swap left/right joints, shift by
one voxel so that coordinate x maps exactly to −x) and averaged with the original's before
decoding. Betas are averaged; the camera too, with the mirrored tx negated. The prior F is
taken from the original crop only, as in the reference.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..model import (
    NetworkOutput,
    ProPoseNet,
    camera_translation,
    heatmap_probabilities,
    root_relative_joints,
    soft_argmax,
)
from ..skeleton import FLIP_PAIRS_35, NUM_HEATMAP_JOINTS, NUM_SMPL_JOINTS


def heatmap_flip_permutation() -> list[int]:
    """Channel permutation swapping left/right joints; channel j holds point j + 1."""
    order = list(range(NUM_HEATMAP_JOINTS))
    for a, b in FLIP_PAIRS_35:
        order[a - 1], order[b - 1] = b - 1, a - 1
    return order


def mirror_heatmaps(probs: Tensor) -> Tensor:
    """(B, J, D, H, W) volumes of a mirrored crop → volumes of the original crop."""
    mirrored = probs.flip(-1)[:, heatmap_flip_permutation()]
    return torch.cat([mirrored[..., :1], mirrored[..., :-1]], dim=-1)


def flip_test_forward(net: ProPoseNet, images: Tensor) -> NetworkOutput:
    depth = net.preact.layout.heatmap_depth
    logits, feature = net.preact(images)
    logits_flipped, feature_flipped = net.preact(images.flip(-1))
    probs = 0.5 * (heatmap_probabilities(logits, depth) + mirror_heatmaps(heatmap_probabilities(logits_flipped, depth)))
    coords = soft_argmax(probs)
    feature, feature_flipped = feature.float(), feature_flipped.float()
    betas = 0.5 * (net.decshape(feature) + net.decshape(feature_flipped)) + net.init_shape
    cam = net.deccam(feature) + net.init_cam
    cam_flipped = (net.deccam(feature_flipped) + net.init_cam) * cam.new_tensor([1.0, -1.0, 1.0])
    cam = 0.5 * (cam + cam_flipped)
    return NetworkOutput(
        heatmap_coords=coords, heatmap_joints=root_relative_joints(coords), betas=betas,
        prior_F=net.decF(feature).reshape(-1, NUM_SMPL_JOINTS, 3, 3), cam=cam,
        transl=camera_translation(cam),
    )
