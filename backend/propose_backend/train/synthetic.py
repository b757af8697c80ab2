"""A synthetic mini-dataset: the demo body rendered in random poses, shapes and cameras.

It is written in the 3DPW annotation format (docs/training.md, Data), so the ordinary loader, the trainer and
`evaluate --dataset 3dpw` read it like real data. Tests and smoke runs use it; it is far too
simple to train a useful model. Layout under the output folder:

    json/synthetic_train.json, json/synthetic_test.json   3DPW-style annotations
    imageFiles/<split>/<index>.jpg                       the renderings (random backgrounds)
    J_regressor_h36m.npy                                 a 17-joint regressor for the demo body

The regressor stands in for the licensed Human3.6M regressor of the real SMPL model: it is a
linear map from the demo body's vertices to Human3.6M-like joints, enough to exercise evaluation.

    python -m propose_backend.train.synthetic --out data/synthetic --count 512 --test-count 64
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..body import BodyModelData, demo_body
from ..body.layer import BodyLayer
from ..geometry import project
from ..render import render_mesh
from ..skeleton import EXTRA_VERTEX_IDS, NUM_SMPL_JOINTS
from .datasets.sample import axis_angle_to_matrix

TRAIN_FILE = Path("json/synthetic_train.json")
TEST_FILE = Path("json/synthetic_test.json")
IMAGE_DIR = Path("imageFiles")
REGRESSOR_FILE = Path("J_regressor_h36m.npy")
BODY_HEIGHT_M = 1.7
NOSE = EXTRA_VERTEX_IDS[0]

# Human3.6M joint ← SMPL joint(s) of the demo body (torso: halfway spine1–spine2; nose: a vertex).
_H36M_FROM_SMPL: tuple[tuple[int, ...], ...] = (
    (0,), (1,), (4,), (7,), (2,), (5,), (8,), (3, 6), (12,), (), (15,), (16,), (18,), (20,),
    (17,), (19,), (21,),
)


@dataclass(frozen=True)
class SyntheticSet:
    root: Path
    train_annotations: Path
    test_annotations: Path
    images: Path
    regressor: Path


def synthetic_h36m_regressor(body: BodyModelData) -> np.ndarray:
    """(17, V) Human3.6M-like joint regressor built from the body's own SMPL joint regressor."""
    rows = []
    for joints in _H36M_FROM_SMPL:
        if joints:
            rows.append(body.J_regressor[list(joints)].mean(axis=0))
        else:
            row = np.zeros(body.num_vertices, np.float32)
            row[NOSE] = 1.0
            rows.append(row)
    return np.stack(rows).astype(np.float32)


def _rotation_vector(matrix: np.ndarray) -> np.ndarray:
    return cv2.Rodrigues(matrix.astype(np.float64))[0].reshape(3)


def random_pose(rng: np.random.Generator) -> np.ndarray:
    """(24, 3) axis-angle: upright body facing the camera (± 60° yaw), varied limbs."""
    theta = rng.normal(0.0, 0.12, size=(NUM_SMPL_JOINTS, 3))
    theta[[1, 2]] = rng.normal(0.0, 0.35, size=(2, 3))  # hips
    theta[[4, 5], 0] = rng.uniform(0.0, 1.2, size=2)  # knees bend one way
    theta[[4, 5], 1:] = 0.0
    theta[16] = [rng.normal(0, 0.2), rng.normal(0, 0.3), rng.uniform(-1.2, 0.2)]  # shoulders
    theta[17] = [rng.normal(0, 0.2), rng.normal(0, 0.3), rng.uniform(-0.2, 1.2)]
    theta[18] = [0.0, rng.uniform(-1.4, 0.0), 0.0]  # elbows
    theta[19] = [0.0, rng.uniform(0.0, 1.4), 0.0]
    # camera looks along +z with y down; the body's rest pose is y up, facing +z
    upright = np.diag([1.0, -1.0, -1.0])
    yaw = axis_angle_to_matrix(np.array([[0.0, rng.uniform(-1.05, 1.05), 0.0]]))[0]
    tilt = axis_angle_to_matrix(rng.normal(0.0, 0.08, size=(1, 3)))[0]
    theta[0] = _rotation_vector(upright @ tilt @ yaw)
    return theta.astype(np.float32)


def random_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A colour gradient with a few random shapes, so the body is not on a flat colour."""
    a, b = rng.integers(0, 256, size=(2, 3))
    ramp = np.linspace(0.0, 1.0, size)[:, None, None]
    image = (a * (1 - ramp) + b * ramp).repeat(size, axis=1).astype(np.uint8)
    for _ in range(int(rng.integers(2, 6))):
        color = tuple(int(c) for c in rng.integers(0, 256, size=3))
        x0, y0, x1, y1 = (int(v) for v in rng.integers(0, size, size=4))
        if rng.random() < 0.5:
            cv2.rectangle(image, (x0, y0), (x1, y1), color, thickness=-1)
        else:
            cv2.circle(image, (x0, y0), int(rng.integers(4, size // 4)), color, thickness=-1)
    return image


def _render_split(layer: BodyLayer, regressor: np.ndarray, count: int, split: str, root: Path,
                  size: int, rng: np.random.Generator, first_id: int) -> dict:
    folder = root / IMAGE_DIR / split
    folder.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i in range(count):
        theta = random_pose(rng)
        betas = np.clip(rng.normal(0.0, 0.7, size=10), -2, 2).astype(np.float32)
        with torch.no_grad():
            vertices, joints, _ = layer(torch.from_numpy(betas)[None],
                                        torch.from_numpy(axis_angle_to_matrix(theta))[None])
        focal = float(rng.uniform(300, 500)) * size / 160
        depth = focal * BODY_HEIGHT_M / (rng.uniform(0.55, 0.8) * size)
        offset = rng.uniform(-0.08, 0.08, size=2) * depth * size / focal
        root_cam = np.array([offset[0], offset[1], depth])
        vertices = vertices[0].numpy().astype(np.float64) + root_cam
        joints = joints[0].numpy().astype(np.float64) + root_cam
        center = (size / 2, size / 2)
        image = render_mesh(vertices, layer.faces, image=random_background(rng, size),
                            focal=focal, center=center)
        name = f"{first_id + i:05d}.jpg"
        cv2.imwrite(str(folder / name), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        uv = project(vertices, focal, center)
        lo, hi = np.clip(uv.min(axis=0), 0, size - 1), np.clip(uv.max(axis=0), 0, size - 1)
        joint_uv = project(joints, focal, center)
        image_id = first_id + i
        images.append({"id": image_id, "file_name": name, "sequence": split, "width": size,
                       "height": size, "cam_param": {"focal": [focal, focal], "princpt": list(center)}})
        rounded = lambda a: np.round(np.asarray(a, np.float64), 6).tolist()  # noqa: E731
        annotations.append({
            "id": image_id, "image_id": image_id, "gender": "neutral",
            "bbox": rounded([lo[0], lo[1], hi[0] - lo[0] + 1, hi[1] - lo[1] + 1]),
            "smpl_param": {"pose": rounded(theta.reshape(-1)), "shape": rounded(betas),
                           "trans": rounded(root_cam)},
            "smpl_joint_cam": rounded(joints),
            "smpl_joint_img": rounded(np.concatenate([joint_uv, joints[:, 2:]], axis=1)),
            "h36m_joints": rounded(regressor @ vertices),
        })
    return {"images": images, "annotations": annotations}


def generate(out_dir: str | Path, count: int, test_count: int = 0, image_size: int = 160,
             seed: int = 0) -> SyntheticSet:
    """Renders `count` training and `test_count` test samples into `out_dir`."""
    root = Path(out_dir)
    body = demo_body()
    layer = BodyLayer(body)
    regressor = synthetic_h36m_regressor(body)
    rng = np.random.default_rng(seed)
    (root / TRAIN_FILE.parent).mkdir(parents=True, exist_ok=True)
    np.save(root / REGRESSOR_FILE, regressor)
    splits = (("train", count, TRAIN_FILE), ("test", test_count, TEST_FILE))
    first_id = 0
    for split, n, path in splits:
        data = _render_split(layer, regressor, n, split, root, image_size, rng, first_id)
        first_id += n
        (root / path).write_text(json.dumps(data), encoding="utf-8")
    return SyntheticSet(root=root, train_annotations=root / TRAIN_FILE, test_annotations=root / TEST_FILE,
                        images=root / IMAGE_DIR, regressor=root / REGRESSOR_FILE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m propose_backend.train.synthetic",
                                     description="Render the synthetic mini-dataset (3DPW format).")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--count", type=int, default=512, help="training samples")
    parser.add_argument("--test-count", type=int, default=64, help="test samples")
    parser.add_argument("--size", type=int, default=160, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    made = generate(args.out, args.count, args.test_count, args.size, args.seed)
    print(f"synthetic set written to {made.root} ({args.count} train, {args.test_count} test)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
