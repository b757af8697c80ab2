"""The finger ghosts belong to the body's ghosts: finger ghost s is drawn given body ghost s's wrist."""
from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from propose_backend.body import demo_body
from propose_backend.body.layer import BodyLayer
from propose_backend.hands.rest import template_hands
from propose_backend.hands.solve import FingerSolver, HandBatch
from propose_backend.skeleton import FINGER_BONE_LANDMARKS
from propose_backend.temporal.fingers import hand_frame

S = 64


def _ghosts(turn: float) -> torch.Tensor:
    """(1, S, 24, 3, 3) body ghosts at rest whose wrists lift the hands by `turn` radians."""
    ghosts = torch.eye(3, dtype=torch.float64).expand(1, S, 24, 3, 3).clone()
    ghosts[0, :, 20] = torch.as_tensor(Rotation.from_rotvec([0, 0, turn]).as_matrix())
    ghosts[0, :, 21] = torch.as_tensor(Rotation.from_rotvec([0, 0, -turn]).as_matrix())
    return ghosts


def _mean_directions(samples: np.ndarray, ghosts: torch.Tensor, rest: np.ndarray) -> np.ndarray:
    """(30, 3) each finger bone's mean world direction over the ghosts (fingers on their ghost's wrist)."""
    chains = hand_frame(samples[0].astype(np.float64))
    out = []
    for h, wrist in enumerate((20, 21)):
        world = ghosts[0, :, wrist].numpy()[:, None] @ chains[:, 15 * h:15 * (h + 1)]
        for j, (a, b) in enumerate(FINGER_BONE_LANDMARKS):
            bone = (rest[h, b] - rest[h, a]) / np.linalg.norm(rest[h, b] - rest[h, a])
            mean = (world[:, j] @ bone).mean(axis=0)
            out.append(mean / np.linalg.norm(mean))
    return np.array(out)


def test_a_ghosts_fingers_follow_the_landmarks_not_its_turned_wrist() -> None:
    rest = template_hands(BodyLayer(demo_body()).rest_geometry(np.zeros(10))["rest_joints"])
    solver = FingerSolver(rest)
    hands = HandBatch(world=(rest - rest[:, :1])[None], pixels=np.zeros((1, 2, 21, 2)), gain=np.ones((1, 2)))
    mode = torch.eye(3, dtype=torch.float64).expand(1, 24, 3, 3)
    generator = torch.Generator().manual_seed(0)
    still = _ghosts(0.0)
    reference = _mean_directions(solver.solve(hands, mode, S, generator, still)["hand_samples"], still, rest)
    turned = _ghosts(0.5)  # 28.6°
    coupled = solver.solve(hands, mode, S, generator, turned)["hand_samples"]
    independent = solver.solve(hands, mode, S, generator)["hand_samples"]  # drawn on the mode's wrist
    shift = {name: np.degrees(np.arccos(np.clip((_mean_directions(s, turned, rest) * reference).sum(1), -1, 1))).mean()
             for name, s in (("coupled", coupled), ("independent", independent))}
    # the landmarks hold the fingers where they were seen: they turn much less than the ghost's wrist
    assert shift["coupled"] < 0.6 * 28.6 and shift["independent"] > 0.85 * 28.6, shift


def test_several_frames_draw_their_finger_ghosts_on_their_body_ghosts() -> None:
    """Each frame's prior is tempered by how curled its hand looks, so it goes with that frame's ghosts."""
    rest = template_hands(BodyLayer(demo_body()).rest_geometry(np.zeros(10))["rest_joints"])
    B, ghosts = 3, 4
    world = np.repeat((rest - rest[:, :1])[None], B, axis=0)
    hands = HandBatch(world=world, pixels=np.zeros((B, 2, 21, 2)), gain=np.array([[1.0, 1.0], [0.5, 0.0], [1.0, 0.2]]))
    mode = torch.eye(3, dtype=torch.float64).expand(B, 24, 3, 3)
    body_ghosts = torch.eye(3, dtype=torch.float64).expand(B, ghosts, 24, 3, 3)
    out = FingerSolver(rest).solve(hands, mode, ghosts, torch.Generator().manual_seed(0), body_ghosts)
    assert out["hand_samples"].shape == (B, ghosts, 30, 3, 3)
    assert np.allclose(out["hand_samples"] @ out["hand_samples"].swapaxes(-1, -2), np.eye(3), atol=1e-6)


def test_hands_are_read_along_their_own_ray() -> None:
    """The hand landmarker reads a crop cut round the hand, so it sees the hand along the ray through
    it: turned from that ray into the camera's axes, the read palm lies much nearer the rendered
    hand's true orientation (hands 5-20 deg off the optical axis)."""
    from hand_scene import Scene, arms_forward, render  # benchmark support code (see conftest.py)

    from propose_backend.body.anny_body import DEFAULT_PHENOTYPE, anny_body
    from propose_backend.geometry import world_from_local
    from propose_backend.inference.detect import BlazePoseDetector

    rest = anny_body().hand_rest(DEFAULT_PHENOTYPE)[0]
    solver, blazepose, scene = FingerSolver(rest, video=False), BlazePoseDetector(video=False), Scene(1280, 960, 900.0)
    local = arms_forward(0.9, -1.3, 1.3)
    wrists = world_from_local(torch.as_tensor(local[:24])).numpy()[[20, 21]]
    palm = [1, 5, 9, 13, 17]

    def palm_error(seen: np.ndarray, side: int) -> float:
        u, _, vt = np.linalg.svd((rest[side, palm] - rest[side, 0]).T @ seen[palm])
        turn = vt.T @ np.diag([1.0, 1.0, np.sign(np.linalg.det(vt.T @ u.T))]) @ u.T
        return float(np.degrees(np.arccos(np.clip((np.trace(turn.T @ wrists[side]) - 1) / 2, -1, 1))))

    read, along = [], []
    try:
        for sideways in (-0.5, 0.0, 0.5):
            image, _ = render(local, 2.2, scene, sideways=sideways)
            found = blazepose.detect(image)
            assert found, "BlazePose should find the rendered body"
            pose = np.c_[found[0].landmarks[:, :2] * (scene.width, scene.height), found[0].landmarks[:, 3]]
            hands = solver.observe([image], pose[None])
            as_read = hands.world.copy()
            hands.seen_along_rays(scene.focal, (scene.width / 2, scene.height / 2))
            for side in np.flatnonzero(hands.gain[0] > 0):
                read.append(palm_error(as_read[0, side], side))
                along.append(palm_error(hands.world[0, side], side))
    finally:
        solver.close()
        blazepose.close()
    assert len(along) >= 5, len(along)
    assert np.mean(along) < 13.0 and np.mean(along) < 0.75 * np.mean(read), (read, along)


def test_a_photo_is_read_as_a_still_so_its_hands_are_looked_for_wider(rest_hands: np.ndarray) -> None:
    """The product's finger solver tracks hands from frame to frame (video), and a photo comes to it as
    one frame of a run flagged `still` (FrameBatch.still). Photo 395's hand at the ear, which the crop
    round BlazePose's misplaced wrist misses, is read on the left side only when the photo is read as
    a still (the wider look over the arm's reach), never on a clip's frame."""
    import cv2

    from propose_backend.inference.detect import BlazePoseDetector
    from tests.real_data import photo

    image = cv2.imread(str(photo(395)))
    detector = BlazePoseDetector(video=False)
    try:
        found = detector.detect(image)[0]
    finally:
        detector.close()
    height, width = image.shape[:2]
    pixels = np.c_[found.landmarks[:, :2] * (width, height), found.landmarks[:, 3]][None]
    gains = []
    for still in (False, True):
        solver = FingerSolver(rest_hands)  # video=True, as both estimators make it
        try:
            gains.append(solver.observe([image], pixels, frames=np.array([0]), still=still).gain[0])
        finally:
            solver.close()
    assert gains[0].tolist() == [0.0, 0.0]
    assert gains[1][0] > 0.9 and gains[1][1] == 0.0
