"""The shared skeleton tables agree with each other (checked here, not at every import)."""
from __future__ import annotations

from propose_backend import skeleton


def test_tables_have_one_entry_per_point() -> None:
    assert len(skeleton.POINT_NAMES) == skeleton.NUM_POINTS == len(skeleton.PARENTS)
    assert len(skeleton.EXTRA_VERTEX_IDS) == len(skeleton.EXTRA_POINT_NAMES)
    assert len(skeleton.SMPL_JOINT_NAMES) == skeleton.NUM_SMPL_JOINTS


def test_every_smpl_joint_has_one_posterior_role() -> None:
    roles = [{0}, set(skeleton.MULTI_CHILD), set(skeleton.PRIOR_ONLY), set(skeleton.SINGLE_CHILD)]
    assert set().union(*roles) == set(range(skeleton.NUM_SMPL_JOINTS))
    assert sum(len(r) for r in roles) == skeleton.NUM_SMPL_JOINTS  # no joint has two
    assert all(skeleton.children_of(j) == () for j in skeleton.PRIOR_ONLY)
