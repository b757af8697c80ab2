"""The 35-point ProPose skeleton: 24 SMPL joints followed by 11 surface points.

Everything that indexes joints (network heads, posterior, body model, results, training
targets) takes its names, parents and groupings from here so the numbers live in one place.
"""
from __future__ import annotations

NUM_SMPL_JOINTS = 24
NUM_POINTS = 35  # 24 SMPL joints + 11 extra surface points
NUM_HEATMAP_JOINTS = 34  # the heatmap predicts points 1..34; the root is fixed at zero

SMPL_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee",
    "spine2", "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot",
    "neck", "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
)

EXTRA_POINT_NAMES: tuple[str, ...] = (
    "nose", "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel",
    "right_big_toe", "right_small_toe", "right_heel",
)

POINT_NAMES: tuple[str, ...] = SMPL_JOINT_NAMES + EXTRA_POINT_NAMES

# SMPL vertex ids of the 11 extra points (SMPL-X vertex-id convention), in EXTRA_POINT_NAMES order.
EXTRA_VERTEX_IDS: tuple[int, ...] = (332, 6260, 2800, 4071, 583, 3216, 3226, 3387, 6617, 6624, 6787)

# Parent of each of the 35 points; -1 for the root.
PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21,
    15, 15, 15, 15, 15,  # face points hang off the head
    7, 7, 7,             # left foot points hang off the left ankle
    8, 8, 8,             # right foot points hang off the right ankle
)
SMPL_PARENTS: tuple[int, ...] = PARENTS[:NUM_SMPL_JOINTS]

# Which observed bones constrain each joint's rotation in the analytical posterior.
ROOT_CHILDREN: tuple[int, ...] = (1, 2, 3)
MULTI_CHILD: dict[int, tuple[int, ...]] = {9: (12, 13, 14), 15: (24, 25, 26, 27, 28)}
PRIOR_ONLY: tuple[int, ...] = (10, 11, 22, 23)  # feet and hands: nothing observed beyond them
SINGLE_CHILD: dict[int, int] = {
    1: 4, 2: 5, 3: 6, 4: 7, 5: 8, 6: 9, 7: 10, 8: 11, 12: 15, 13: 16, 14: 17,
    16: 18, 17: 19, 18: 20, 19: 21, 20: 22, 21: 23,
}


def children_of(joint: int) -> tuple[int, ...]:
    """The observed points whose bone directions constrain `joint` (empty for prior-only joints)."""
    if joint == 0:
        return ROOT_CHILDREN
    if joint in MULTI_CHILD:
        return MULTI_CHILD[joint]
    if joint in SINGLE_CHILD:
        return (SINGLE_CHILD[joint],)
    return ()


# Left/right pairs over the 35 points (used by flip augmentation and flip test).
FLIP_PAIRS_35: tuple[tuple[int, int], ...] = (
    (1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21), (22, 23),
    (25, 26), (27, 28), (29, 32), (30, 33), (31, 34),
)
FLIP_PAIRS_24: tuple[tuple[int, int], ...] = tuple(p for p in FLIP_PAIRS_35 if p[1] < NUM_SMPL_JOINTS)

# The network's fixed camera (docs/model.md, The camera and the crop).
FOCAL_LENGTH_PX = 1000.0
CROP_SIZE = 256
DEPTH_FACTOR_M = 2.0
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
