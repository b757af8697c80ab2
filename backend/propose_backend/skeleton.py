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

# --- Fingers (SMPL-H / MANO convention) --------------------------------------------------------
# 15 joints per hand, index, middle, pinky, ring, thumb, three each (1 = knuckle / thumb base,
# 3 = the joint before the tip); the first joint of every finger hangs off the wrist, as in
# SMPL-H. The rig appends them to SMPL's 24 joints: left hand 24..38, right hand 39..53.
FINGERS: tuple[str, ...] = ("index", "middle", "pinky", "ring", "thumb")
NUM_FINGER_JOINTS = 15  # per hand
HAND_SIDES: tuple[str, ...] = ("left", "right")
WRIST_OF_SIDE: dict[str, int] = {"left": 20, "right": 21}
FINGER_JOINT_NAMES: tuple[str, ...] = tuple(
    f"{side}_{finger}{k}" for side in HAND_SIDES for finger in FINGERS for k in (1, 2, 3))
RIG_JOINT_NAMES: tuple[str, ...] = SMPL_JOINT_NAMES + FINGER_JOINT_NAMES  # 54
NUM_RIG_JOINTS = len(RIG_JOINT_NAMES)


def _finger_parents() -> tuple[int, ...]:
    parents = []
    for h, side in enumerate(HAND_SIDES):
        base = NUM_SMPL_JOINTS + h * NUM_FINGER_JOINTS
        for f in range(len(FINGERS)):
            first = base + 3 * f
            parents += [WRIST_OF_SIDE[side], first, first + 1]
    return tuple(parents)


RIG_PARENTS: tuple[int, ...] = SMPL_PARENTS + _finger_parents()
# Per hand, for each of the 15 joints (local order), the hand landmark at the joint and at the
# end of its bone, in MediaPipe's 21-point order (0 wrist, 1-4 thumb, 5-8 index, 9-12 middle,
# 13-16 ring, 17-20 pinky; each finger base to tip).
_FINGER_LANDMARKS = {"index": (5, 6, 7, 8), "middle": (9, 10, 11, 12), "pinky": (17, 18, 19, 20),
                     "ring": (13, 14, 15, 16), "thumb": (1, 2, 3, 4)}
FINGER_BONE_LANDMARKS: tuple[tuple[int, int], ...] = tuple(
    (_FINGER_LANDMARKS[f][k], _FINGER_LANDMARKS[f][k + 1]) for f in FINGERS for k in range(3))
# Landmark of each hand joint: the wrist (0) then the 15 finger joints' own landmarks.
HAND_JOINT_LANDMARKS: tuple[int, ...] = (0,) + tuple(a for a, _ in FINGER_BONE_LANDMARKS)
NUM_HAND_LANDMARKS = 21
# A finger flexes about the axis across its bone in the palm's plane (its tip moves towards the
# palm's normal). The thumb sits pronated and flexes across the palm instead: its MCP and IP
# hinges (thumb2, thumb3) turn that axis about the bone by this many degrees, so their flexion
# carries the tip towards the middle knuckle. Both the finger posterior (hands/fingers.py) and
# the rig's curl axes (Blender, rig.py) use it. On the real photos MediaPipe's thumbs bend
# 59-144 deg (median ~90) away from the palm's normal towards the fingers (docs/hands.md).
THUMB_HINGE_JOINTS: tuple[int, ...] = (13, 14)  # per hand, in the 15-joint order
THUMB_FLEX_TURN_DEG = 80.0
# An average adult left hand's 21 landmarks, palm down, fingers along +x, thumb forward (+z), in
# units of the wrist-to-knuckle distance (SMPL's wrist -> hand joint); the right hand mirrors x.
# Bodies without finger bones (SMPL, results from before fingers) get this hand.
HAND_TEMPLATE_LEFT: tuple[tuple[float, float, float], ...] = (
    (0.0, 0.0, 0.0),  # wrist
    (0.25, -0.10, 0.25), (0.55, -0.12, 0.45), (0.85, -0.12, 0.58), (1.10, -0.12, 0.68),  # thumb
    (1.00, 0.0, 0.22), (1.42, 0.0, 0.24), (1.67, 0.0, 0.25), (1.90, 0.0, 0.26),  # index
    (1.02, 0.0, 0.04), (1.50, 0.0, 0.04), (1.78, 0.0, 0.04), (2.03, 0.0, 0.04),  # middle
    (0.97, 0.0, -0.13), (1.41, 0.0, -0.14), (1.68, 0.0, -0.15), (1.91, 0.0, -0.16),  # ring
    (0.90, 0.0, -0.30), (1.22, 0.0, -0.33), (1.42, 0.0, -0.35), (1.60, 0.0, -0.37),  # pinky
)
