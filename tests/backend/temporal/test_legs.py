"""Two-bone leg reach: the ankle lands where it is sent, bones keep their lengths, the rest stays."""
from __future__ import annotations

import numpy as np

from propose_backend.temporal import kinematics, legs, so3

from .synthetic import REST_JOINTS, true_motion


def test_reach_moves_each_ankle_onto_its_target_and_nothing_else() -> None:
    world = kinematics.world_from_local(true_motion(20))
    rng = np.random.default_rng(3)
    joints = kinematics.joint_positions(world, REST_JOINTS)
    up_the_leg = np.stack([joints[:, hip] - joints[:, ankle] for hip, _, ankle in legs.LEGS], 1)
    up_the_leg /= np.linalg.norm(up_the_leg, axis=-1, keepdims=True)
    shift = 0.06 * up_the_leg + rng.normal(0, 0.015, (20, 2, 3))  # within reach: the knee bends a little more
    shift[5] = 0.0  # a frame with no shift stays exactly as it was
    bent = legs.reach(world, REST_JOINTS, shift)
    before, after = (kinematics.joint_positions(w, REST_JOINTS) for w in (world, bent))
    for f, (hip, knee, ankle) in enumerate(legs.LEGS):
        assert np.abs(after[:, ankle] - (before[:, ankle] + shift[:, f])).max() < 1e-6
        for a, b in ((hip, knee), (knee, ankle)):
            length = lambda p: np.linalg.norm(p[:, b] - p[:, a], axis=-1)  # noqa: E731
            assert np.abs(length(after) - length(before)).max() < 1e-9
        # the foot keeps its world orientation, so the whole foot moves with the ankle
        assert so3.angle_deg(bent[:, ankle], world[:, ankle]).max() < 1e-9
    untouched = [j for j in range(24) if j not in (1, 2, 4, 5)]
    assert so3.angle_deg(bent[:, untouched], world[:, untouched]).max() < 1e-9
    assert np.array_equal(bent[5], world[5])
    # the knee still bends the way it did: the knee stays on the same side of the hip-ankle line
    for hip, knee, ankle in legs.LEGS:
        side = lambda p: np.einsum("ti,ti->t", np.cross(p[:, ankle] - p[:, hip], p[:, knee] - p[:, hip]),  # noqa: E731
                                   np.cross(before[:, ankle] - before[:, hip], before[:, knee] - before[:, hip]))
        assert (side(after) > 0).all()


def test_a_straight_leg_reaching_for_a_trembling_target_keeps_its_knee_still() -> None:
    """A stance leg is nearly straight, and its planted foot's anchor trembles by millimetres
    about the leg's full reach; the knee must not swing by degrees from frame to frame (a hard
    limit at full extension makes the knee angle steep there)."""
    T = 60
    world = np.repeat(kinematics.world_from_local(true_motion(1))[:1], T, axis=0)
    joints = kinematics.joint_positions(world, REST_JOINTS)
    rng = np.random.default_rng(5)
    shift = np.zeros((T, 2, 3))
    for f, (hip, knee, ankle) in enumerate(legs.LEGS):
        away = joints[0, ankle] - joints[0, hip]
        length = np.linalg.norm(joints[0, knee] - joints[0, hip]) + np.linalg.norm(joints[0, ankle] - joints[0, knee])
        # the target trembles 3 mm about the straight leg's reach
        target = joints[0, hip] + away / np.linalg.norm(away) * (length + rng.normal(0, 0.003, T))[:, None]
        shift[:, f] = target - joints[:, ankle]
    bent = legs.reach(world, REST_JOINTS, shift)
    local = kinematics.local_from_world(bent)
    for _, knee, _ in legs.LEGS:
        # measured: 2.2° and 1.8° per frame; 5.1° and 4.1° with a hard limit at full extension
        assert so3.angle_deg(local[1:, knee], local[:-1, knee]).mean() < 2.5
