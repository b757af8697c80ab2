"""Turning one PersonRecord into a network input and its targets (the sample format of docs/training.md, Data).

Order of operations as in the reference: mirror (image, 2D, 3D, SMPL pose), affine warp to the
crop, rotate 3D and the global orientation about the camera axis by the crop's in-plane
rotation, colour gain, then normalised targets: crop coordinates u/S − 0.5, depths and
root-relative positions in units of the 2 m heatmap cube (mm / 2000).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import Tensor

from ... import geometry
from ...skeleton import IMAGENET_MEAN, IMAGENET_STD, NUM_SMPL_JOINTS
from .augment import CropTransform
from .record import FLIP_PAIRS_11, FLIP_PAIRS_17, FLIP_PAIRS_29, PersonRecord

CUBE_MM = 2000.0  # BBOX_3D_SHAPE: the heatmap's depth range, docs/model.md, Constants
FLIP_PAIRS_SMPL = tuple(p for p in FLIP_PAIRS_29 if p[1] < NUM_SMPL_JOINTS)


def axis_angle_to_matrix(theta: np.ndarray) -> np.ndarray:
    """(N, 3) axis-angle vectors → (N, 3, 3) float32 rotations, the dtype of the training targets."""
    return geometry.axis_angle_to_matrix(theta).astype(np.float32)


def swap_pairs(values: np.ndarray, pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
    out = values.copy()
    for a, b in pairs:
        out[a], out[b] = values[b], values[a]
    return out


def mirror_uv(uvd: np.ndarray, vis: np.ndarray, width: int,
              pairs: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal mirror of pixel joints: u → width − 1 − u, left/right swapped."""
    uvd = uvd.copy()
    uvd[:, 0] = width - 1 - uvd[:, 0]
    return swap_pairs(uvd, pairs), swap_pairs(vis, pairs)


def mirror_xyz(xyz: np.ndarray, pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Mirror of camera-space points in the x = 0 plane, left/right swapped."""
    xyz = xyz.copy()
    xyz[:, 0] *= -1
    return swap_pairs(xyz, pairs)


def mirror_theta(theta: np.ndarray) -> np.ndarray:
    """SMPL pose of the mirrored body: swap left/right joints, negate the y and z of axis-angles.

    Mirroring is conjugation by M = diag(−1, 1, 1), and M·Rot(ω)·M = Rot((ωx, −ωy, −ωz)).
    """
    theta = swap_pairs(theta, FLIP_PAIRS_SMPL)
    return theta * np.array([1.0, -1.0, -1.0], dtype=theta.dtype)


def _warp_uv(uvd: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    out = uvd.copy()
    out[:, :2] = uvd[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    return out


def _crop_image(image: np.ndarray, transform: CropTransform, size: int) -> Tensor:
    crop = cv2.warpAffine(image, transform.matrix(size), (size, size), flags=cv2.INTER_LINEAR)
    pixels = crop.astype(np.float32)
    if transform.color_gain is not None:
        pixels = np.clip(pixels * transform.color_gain.astype(np.float32), 0, 255)
    pixels = (pixels / 255.0 - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))


def build_sample(record: PersonRecord, image: np.ndarray, transform: CropTransform,
                 input_size: int) -> tuple[Tensor, dict[str, Tensor]]:
    """image: RGB uint8 (H, W, 3). Returns the normalised crop (3, S, S) and the target dict."""
    width = image.shape[1]
    root = record.xyz29[0].astype(np.float64)
    uvd29, vis29 = record.uvd29.copy(), record.uvd29_vis.copy()
    uvd11, vis11 = record.uvd11.copy(), record.uvd11_vis.copy()
    xyz24 = (record.xyz29[:NUM_SMPL_JOINTS] - root).astype(np.float32)
    vis24 = record.xyz29_vis[:NUM_SMPL_JOINTS].copy()
    xyz11, xyz11_vis = (record.xyz11 - root).astype(np.float32), record.xyz11_vis.copy()
    xyz17, xyz17_vis = (record.xyz17 - record.xyz17[0]).astype(np.float32), record.xyz17_vis.copy()
    theta = record.theta.astype(np.float32).copy()
    K = record.intrinsics()
    joint_root = record.root_cam.astype(np.float32) / 1000.0

    if transform.flip:
        image = image[:, ::-1]
        uvd29, vis29 = mirror_uv(uvd29, vis29, width, FLIP_PAIRS_29)
        uvd11, vis11 = mirror_uv(uvd11, vis11, width, FLIP_PAIRS_11)
        xyz24, vis24 = mirror_xyz(xyz24, FLIP_PAIRS_SMPL), swap_pairs(vis24, FLIP_PAIRS_SMPL)
        xyz11, xyz11_vis = mirror_xyz(xyz11, FLIP_PAIRS_11), swap_pairs(xyz11_vis, FLIP_PAIRS_11)
        xyz17, xyz17_vis = mirror_xyz(xyz17, FLIP_PAIRS_17), swap_pairs(xyz17_vis, FLIP_PAIRS_17)
        theta = mirror_theta(theta)
        joint_root = joint_root * np.array([-1, 1, 1], np.float32)
        K[0, 2] = width - 1 - K[0, 2]

    crop = _crop_image(np.ascontiguousarray(image), transform, input_size)
    matrix = transform.matrix(input_size)
    uvd29, uvd11 = _warp_uv(uvd29, matrix), _warp_uv(uvd11, matrix)

    # The crop turned the picture by r about the optical axis; turn the 3D labels alike.
    r = np.deg2rad(transform.rotation_deg)
    rot_z = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]], np.float32)
    xyz24, xyz11, xyz17 = xyz24 @ rot_z.T, xyz11 @ rot_z.T, xyz17 @ rot_z.T
    rotmats = axis_angle_to_matrix(theta)
    rotmats[0] = rot_z @ rotmats[0]

    def uvd_target(uvd: np.ndarray) -> np.ndarray:
        return np.concatenate([uvd[:, :2] / input_size - 0.5, uvd[:, 2:] / CUBE_MM], axis=1)

    smpl_weight = 1.0 if record.has_smpl else 0.0
    arrays = {
        "target_uvd_29": uvd_target(uvd29), "target_weight_29": vis29,
        "target_uvd_11": uvd_target(uvd11), "target_weight_11": vis11,
        "target_xyz_24": xyz24 / CUBE_MM, "target_weight_24": vis24,
        "target_xyz_17": xyz17 / CUBE_MM, "target_weight_17": xyz17_vis,
        "target_xyz_11": xyz11 / CUBE_MM, "target_weight_11_xyz": xyz11_vis,
        "target_theta": rotmats, "target_theta_weight": np.full(rotmats.shape, smpl_weight),
        "target_beta": record.beta, "target_smpl_weight": np.array([smpl_weight]),
        "trans_inv": transform.inverse_matrix(input_size), "intrinsic_param": K,
        "joint_root": joint_root, "img_center": np.array([width / 2, image.shape[0] / 2]),
    }
    flat = {"trans_inv", "intrinsic_param"}
    targets = {
        key: torch.as_tensor(np.asarray(value, dtype=np.float32)).reshape(-1) if key not in flat
        else torch.as_tensor(np.asarray(value, dtype=np.float32))
        for key, value in arrays.items()
    }
    return crop, targets
