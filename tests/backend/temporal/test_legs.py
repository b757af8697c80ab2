"""Two-bone leg reach: the ankle lands where it is sent, bones keep their lengths, the rest stays."""
from __future__ import annotations

import numpy as np

from propose_backend import geometry
from propose_backend.temporal import kinematics, legs, so3

from .synthetic import REST_JOINTS, true_motion


def test_reach_moves_each_ankle_onto_its_target_and_nothing_else(monkeypatch) -> None:
    monkeypatch.setattr(legs, "KNEE_DAMPING_M", 0.0)  # the undamped knee takes the whole distance
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


def test_a_foot_sent_across_the_leg_turns_the_knee_only_about_its_hinge() -> None:
    """A planted foot's anchor often lies off the plane of hip, knee and ankle (a foot sliding
    sideways in the estimate). The leg must swing about the hip and flex at the knee: the knee's
    own rotation may change only about its hinge (the normal of that plane), never twist or tilt
    off it, or a planted leg's knee wobbles from frame to frame."""
    T = 40
    world = kinematics.world_from_local(true_motion(T, seed=4))
    joints = kinematics.joint_positions(world, REST_JOINTS)
    rng = np.random.default_rng(7)
    shift = np.zeros((T, 2, 3))
    hinges = []
    for f, (hip, knee, ankle) in enumerate(legs.LEGS):
        hinge = np.cross(joints[:, knee] - joints[:, hip], joints[:, ankle] - joints[:, knee])
        hinge /= np.linalg.norm(hinge, axis=-1, keepdims=True)
        hinges.append(hinge)
        # 2-6 cm across the leg's plane, plus up to 2 cm within it
        shift[:, f] = rng.uniform(0.02, 0.06, (T, 1)) * hinge + rng.normal(0, 0.01, (T, 3))
    bent = legs.reach(world, REST_JOINTS, shift)
    before, after = (kinematics.local_from_world(w) for w in (world, bent))
    for f, (hip, knee, ankle) in enumerate(legs.LEGS):
        # the knee's change, in the thigh's frame, and its hinge there
        change = geometry.matrix_to_axis_angle(after[:, knee] @ np.swapaxes(before[:, knee], -1, -2))
        change = np.einsum("tji,tj->ti", world[:, hip], np.einsum("tij,tj->ti", world[:, hip], change))
        axis = np.einsum("tji,tj->ti", world[:, hip], hinges[f])
        off_hinge = np.linalg.norm(change - np.einsum("ti,ti->t", change, axis)[:, None] * axis, axis=-1)
        # measured: below 1e-6°; turning thigh and shin each onto the target in one go: up to 11.6°
        assert np.degrees(off_hinge).max() < 0.01
        # and the foot was sent where it should go: onto the target's direction from the hip (its
        # distance eases near full extension, legs.SOFT_REACH)
        landed = kinematics.joint_positions(bent, REST_JOINTS)[:, ankle] - joints[:, hip]
        wanted = joints[:, ankle] + shift[:, f] - joints[:, hip]
        cos = np.einsum("ti,ti->t", landed, wanted) / np.linalg.norm(landed, axis=-1) / np.linalg.norm(wanted, axis=-1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 1e-4


def _bent_knees(T: int, flexion_deg: float) -> np.ndarray:
    """(T, 24, 3, 3) world rotations of a body standing with both knees bent by flexion_deg."""
    local = np.repeat(np.eye(3)[None, None], T, 0).repeat(24, 1)
    for _, knee, _ in legs.LEGS:
        local[:, knee] = geometry.axis_angle_to_matrix(np.array([np.radians(flexion_deg), 0.0, 0.0]))
    return kinematics.world_from_local(local)


def test_a_nearly_straight_knee_does_not_chase_the_legs_length_and_the_pelvis_takes_it() -> None:
    """A stance knee bent 12° changes the leg's length by millimetres per degree: an anchor
    trembling 3 mm along the leg swung it by degrees per frame. The damped knee barely moves;
    what it leaves (`shortfall`) lies along the leg and the pelvis takes it (`pelvis_share`): with
    the pelvis moved, the planted foot is where it was sent."""
    T = 60
    world = _bent_knees(T, 12.0)
    joints = kinematics.joint_positions(world, REST_JOINTS)
    rng = np.random.default_rng(11)
    shift = np.zeros((T, 2, 3))
    for f, (hip, _, ankle) in enumerate(legs.LEGS):
        along = (joints[0, ankle] - joints[0, hip]) / np.linalg.norm(joints[0, ankle] - joints[0, hip])
        shift[:, f] = rng.normal(0, 0.003, (T, 1)) * along
    bent = legs.reach(world, REST_JOINTS, shift)
    short = legs.shortfall(world, bent, REST_JOINTS, shift)
    local = kinematics.local_from_world(bent)
    for f, (hip, knee, ankle) in enumerate(legs.LEGS):
        # measured 1.3 / 1.5 °/frame; undamped (KNEE_DAMPING_M = 0) 2.8 / 3.3
        assert so3.angle_deg(local[1:, knee], local[:-1, knee]).mean() < 2.0
        landed = kinematics.joint_positions(bent, REST_JOINTS)[:, ankle]
        assert np.abs(landed + short[:, f] - (joints[:, ankle] + shift[:, f])).max() < 1e-9
        leg = joints[:, ankle] - joints[:, hip]
        assert np.abs(np.cross(short[:, f], leg)).max() < 1e-9  # only the leg's length is left
    # single support, the left foot planted: the pelvis takes its shortfall
    contacts = np.zeros((T, 2))
    contacts[:, 0] = 1.0
    steady = np.full((T, 2, 3), 0.0)
    steady[:, 0] = [0.0, -0.02, 0.0]  # a leg 2 cm short of its anchor through a contact
    dt, reset = np.full(T - 1, 1 / 30), np.zeros(T - 1, bool)
    move = legs.pelvis_share(steady, contacts, dt, reset)
    assert np.abs(move[5:-5] - steady[5:-5, 0]).max() < 1e-9
    # double support: both feet down, their shortfalls disagree, the pelvis meets them halfway
    contacts[:, 1] = 1.0
    steady[:, 1] = [0.0, 0.0, 0.01]
    move = legs.pelvis_share(steady, contacts, dt, reset)
    assert np.abs(move[5:-5] - [0.0, -0.01, 0.005]).max() < 1e-9
    # neither foot down: nothing moves
    assert not legs.pelvis_share(steady, np.zeros((T, 2)), dt, reset).any()
