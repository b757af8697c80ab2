"""The legs' depth is held to the picture: a leg bone BlazePose stretches along its ray past its
length comes back onto its landmark's ray, at the bone's length from its upper end."""
from __future__ import annotations

import numpy as np

from propose_backend.instant.foreshortening import leg_depth_from_picture
from propose_backend.instant.mapping import BP

FOCAL, PRINCIPAL = 800.0, (480.0, 270.0)
LEFT = ("left_knee", "left_ankle", "left_heel", "left_foot_index")


def _walker() -> np.ndarray:
    """(1, 33, 3) a mid-stride walker seen from the side 4.5 m away, legs placed in the camera
    (metres), both thighs one length and both shins one length."""
    points = np.zeros((1, 33, 3))
    points[..., 2] = 4.5  # the rest of the body (unused here)
    at = {"left_hip": (0.0, 0.0, 4.40), "left_knee": (0.18, 0.36, 4.34), "left_ankle": (0.10, 0.76, 4.42),
          "left_heel": (0.06, 0.80, 4.43), "left_foot_index": (0.25, 0.84, 4.40),
          "right_hip": (0.0, 0.0, 4.60), "right_knee": (-0.12, 0.37, 4.52), "right_ankle": (-0.30, 0.72, 4.58),
          "right_heel": (-0.35, 0.74, 4.59), "right_foot_index": (-0.17, 0.80, 4.58)}
    for name, xyz in at.items():
        points[0, BP[name]] = xyz
    for top, end in (("hip", "knee"), ("knee", "ankle")):
        left = np.linalg.norm(points[0, BP[f"left_{end}"]] - points[0, BP[f"left_{top}"]])
        bone = points[0, BP[f"right_{end}"]] - points[0, BP[f"right_{top}"]]
        shift = points[0, BP[f"right_{top}"]] + bone * left / np.linalg.norm(bone) - points[0, BP[f"right_{end}"]]
        for name in (f"right_{end}",) + (("right_heel", "right_foot_index") if end == "ankle" else ()):
            points[0, BP[name]] += shift
        if end == "knee":  # the shin follows its knee
            for name in ("right_ankle", "right_heel", "right_foot_index"):
                points[0, BP[name]] += shift
    return points


def _pixels(points: np.ndarray) -> np.ndarray:
    return points[..., :2] / points[..., 2:] * FOCAL + np.asarray(PRINCIPAL)


def _lengths(points: np.ndarray) -> dict[str, float]:
    bone = lambda a, b: float(np.linalg.norm(points[0, BP[a]] - points[0, BP[b]]))  # noqa: E731
    return {"thigh": bone("left_hip", "left_knee"), "shin": bone("left_knee", "left_ankle")}


def _depth_error(truth: np.ndarray, errors: dict[str, float]) -> np.ndarray:
    """BlazePose's kind of error: knees' and ankles' depth off by centimetres (a foot moving with
    its ankle), each along its own ray, so the pixels stay right (the sharper half of its answer)."""
    seen = truth.copy()
    for name, dz in errors.items():
        side = name.split("_")[0]
        for point in [name] + ([f"{side}_heel", f"{side}_foot_index"] if "ankle" in name else []):
            seen[0, BP[point]] *= (truth[0, BP[point], 2] + dz) / truth[0, BP[point], 2]
    return seen


def test_a_leg_stretched_along_its_rays_comes_back_to_its_true_depth() -> None:
    truth = _walker()
    # the thigh 6 cm deeper towards the camera than it is, the shin 9 cm deeper away from it:
    # each longer along its ray than the bone reaches
    seen = _depth_error(truth, {"left_knee": -0.06, "left_ankle": 0.03})
    fixed = leg_depth_from_picture(seen, _pixels(seen), np.ones((1, 33)), _lengths(truth), FOCAL, PRINCIPAL)
    left = [BP[n] for n in LEFT]
    before = np.abs(seen[0, left] - truth[0, left]).max()
    after = np.abs(fixed[0, left] - truth[0, left]).max()
    assert before > 0.05 and after < 0.01, (before, after)
    # the knee and ankle move along their own rays only; the foot follows its ankle rigidly
    joints = [BP["left_knee"], BP["left_ankle"]]
    assert np.allclose(_pixels(fixed)[0, joints], _pixels(seen)[0, joints], atol=1e-6)
    assert np.allclose(_pixels(fixed)[0, left], _pixels(seen)[0, left], atol=1.0)


def test_a_bone_within_its_reach_is_not_flipped_to_the_other_side_of_its_ray() -> None:
    # the right thigh 3 cm shallower than it is: the picture allows a second point on the knee's ray
    # (the thigh mirrored in depth), and which one is true is BlazePose's guess to keep, not ours
    truth = _walker()
    seen = _depth_error(truth, {"right_knee": 0.03})
    fixed = leg_depth_from_picture(seen, _pixels(seen), np.ones((1, 33)), _lengths(truth), FOCAL, PRINCIPAL)
    assert np.allclose(fixed, seen)


def test_a_bone_seen_unclearly_keeps_blazeposes_own_bone_from_its_moved_parent() -> None:
    truth = _walker()
    seen = _depth_error(truth, {"left_knee": -0.06, "left_ankle": 0.03})
    visibility = np.ones((1, 33))
    visibility[0, BP["left_ankle"]] = 0.2
    fixed = leg_depth_from_picture(seen, _pixels(seen), visibility, _lengths(truth), FOCAL, PRINCIPAL)
    knee, ankle = BP["left_knee"], BP["left_ankle"]
    assert np.abs(fixed[0, knee] - truth[0, knee]).max() < 0.01  # the thigh was read from the picture
    assert np.allclose(fixed[0, ankle] - fixed[0, knee], seen[0, ankle] - seen[0, knee])
    assert np.allclose(fixed[0, BP["left_heel"]] - fixed[0, ankle], seen[0, BP["left_heel"]] - seen[0, ankle])
