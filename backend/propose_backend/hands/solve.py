"""Fingers for a batch of frames: landmarks in, the results' hand fields out.

The estimator calls `observe` (MediaPipe on hand crops placed from the body), adds
`wrist_evidence` to the body's evidence before solving the body (the palm refines the wrist), then
`solve` with the body's world rotations, which gives the finger posteriors, their uncertainty and
ghost samples in the results' layout (left hand's 15 joints, then the right's).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ..geometry import ray_rotation, world_of_joints
from ..skeleton import NUM_FINGER_JOINTS, NUM_SMPL_JOINTS, WRIST_OF_SIDE, HAND_SIDES
from .correction import shipped
from .fingers import HandAnatomy, hands_posterior, observed_curl_deg, palm_evidence, uncertainty_deg
from .ghosts import sample_hands
from .landmarks import HandLandmarker, HandObservation

# A hand this many pixels long (wrist to fingertips) or more counts fully; smaller ones count
# less (their landmarks are noisier), quadratically, down to landmarks.MIN_HAND_PX.
FULL_SIZE_PX = 60.0
_WRISTS = [WRIST_OF_SIDE[side] for side in HAND_SIDES]  # body joints of the hands, HAND_SIDES order


@dataclass
class HandBatch:
    world: np.ndarray  # (B, 2, 21, 3) metric landmarks, camera axes, wrist at 0
    pixels: np.ndarray  # (B, 2, 21, 2)
    gain: np.ndarray  # (B, 2) 0 = unseen, else confidence x size factor in (0, 1]
    # A corrected read's error model (hands/correction.py): each bone's concentration (B, 2, 15) and
    # the spread's temperature (B, 2); None: `world` is the landmarker's own read (landmark noise model)
    kappa: np.ndarray | None = None
    temperature: np.ndarray | None = None
    # (B, 2) bool: hands a still's wider look found away from BlazePose's wrist (landmarks.look_wider),
    # where instant mode moves the body's wrist onto the hand (instant/arm_reach.py); `observe` always
    # sets it; None (a batch made elsewhere): none
    wide: np.ndarray | None = None

    def posterior_terms(self, h: int | None = None) -> dict[str, torch.Tensor]:
        """hand_posterior's error-model arguments for hand h, or hands_posterior's for both (h None);
        empty for an uncorrected read."""
        if self.kappa is None or self.temperature is None:
            return {}
        pick = slice(None) if h is None else h
        return {"kappa": torch.as_tensor(self.kappa[:, pick]), "temperature": torch.as_tensor(self.temperature[:, pick])}

    def seen_along_rays(self, focal: float, principal: tuple[float, float], view: np.ndarray | None = None) -> None:
        """In place: each seen hand's landmarks turned from the view along its own ray into the body's
        view. The hand landmarker sees a crop cut round the hand, so it reads the hand as seen along
        the ray through it (as an estimator reading a body crop does, geometry.ray_rotation); the
        body is solved in its own view, whose rotation to the camera is `view` (B, 3, 3) (instant
        mode: crop_turn; None: the camera's axes). Hands 6-12 deg off the body's ray are common."""
        rays = ray_rotation(self.pixels[:, :, 0], focal, principal)  # (B, 2, 3, 3)
        if view is not None:
            rays = np.swapaxes(view, -1, -2)[:, None] @ rays
        turned = np.einsum("bhij,bhkj->bhki", rays, self.world)
        self.world = np.where((self.gain > 0)[..., None, None], turned, self.world)

    def mirror(self, principal_x: float) -> None:
        """Mirrored footage, in place (propose_backend.mirrored): the figure is reflected across the
        camera's vertical plane with its sides swapped, so each hand seen goes to the other side,
        reflected the same way (x negated in camera axes; its image landmarks flipped about the
        principal point, onto the flipped footage)."""
        self.world = self.world[:, ::-1].copy()
        self.world[..., 0] *= -1.0
        self.gain = self.gain[:, ::-1].copy()
        self.pixels = self.pixels[:, ::-1].copy()
        if self.kappa is not None and self.temperature is not None:
            self.kappa, self.temperature = self.kappa[:, ::-1].copy(), self.temperature[:, ::-1].copy()
        if self.wide is not None:
            self.wide = self.wide[:, ::-1].copy()
        seen = self.gain > 0  # unseen hands keep their zeros
        self.pixels[..., 0] = np.where(seen[..., None], 2.0 * principal_x - self.pixels[..., 0], self.pixels[..., 0])


class FingerSolver:
    """Hand landmarks and finger posteriors for one person, frame after frame."""

    hands = True

    def __init__(self, rest_hands: np.ndarray, video: bool = True, corrected: bool = False) -> None:
        self.anatomy = HandAnatomy.from_rest(rest_hands)
        self.video = video
        # corrected: the learned correction of the landmarker's reads (hands/correction.py). Off by
        # default: it helps on rendered hands but curls real open hands (docs/hands.md, The read correction)
        self.correction = shipped() if corrected else None
        # One landmarker per person (key None: the one person of a single-person run): in tracking
        # mode a landmarker follows the hands it saw last, so two people must never share one.
        self._landmarkers: dict[int | None, HandLandmarker] = {}

    def observe(self, images: list[np.ndarray | None], pose_pixels: np.ndarray,
                people: np.ndarray | None = None, frames: np.ndarray | None = None, still: bool = False) -> HandBatch:
        """images: full BGR frames (None: not available); pose_pixels (B, 33, 3) x, y, visibility;
        people: (B,) person number of each row when several people are followed (FrameBatch.person);
        frames: (B,) source frame numbers (FrameBatch.frame_index), for the landmarker's back-off;
        still: a photo (FrameBatch.still), read as a still whatever `video` says, so the landmarker also
        looks wider for a hand its crops miss (HandLandmarker.look_wider)."""
        found = []
        owners = [None] * len(pose_pixels) if people is None else [int(n) for n in people]
        numbers = [None] * len(pose_pixels) if frames is None else [int(f) for f in frames]
        for image, pose, owner, number in zip(images, pose_pixels, owners, numbers):
            if image is None or not np.any(pose[:, 2] > 0):
                found.append(HandObservation.unseen())
                continue
            if owner not in self._landmarkers:
                self._landmarkers[owner] = HandLandmarker(video=self.video and not still)
            found.append(self._landmarkers[owner].find(image, pose, number))
        world = np.stack([f.world for f in found]) if found else np.zeros((0, 2, 21, 3))
        pixels = np.stack([f.pixels for f in found]) if found else np.zeros((0, 2, 21, 2))
        score = np.stack([f.score for f in found]) if found else np.zeros((0, 2))
        size = np.stack([f.size_px for f in found]) if found else np.zeros((0, 2))
        gain = score * np.clip(size / FULL_SIZE_PX, 0.0, 1.0) ** 2
        wide = np.stack([f.wide for f in found]) if found else np.zeros((0, 2), bool)
        return self.corrected(HandBatch(world, pixels, gain, wide=wide))

    def corrected(self, hands: HandBatch) -> HandBatch:
        """The seen hands' reads replaced by the learned correction's (its joints posed on the rest
        hand under the read palm), with its error model: held-out concentrations per bone and a
        temperature from how curled the read looks, moved towards 1 as the hand's gain falls."""
        if self.correction is None or not len(hands.gain):
            return hands
        world = hands.world.copy()
        kappa = np.broadcast_to(self.correction.kappa, hands.gain.shape + (NUM_FINGER_JOINTS,)).astype(np.float64)
        temperature = np.ones_like(hands.gain)
        for h in range(2):
            seen = hands.gain[:, h] > 0
            if not seen.any():
                continue
            read = hands.world[seen, h]
            world[seen, h] = self.correction.landmarks(self.anatomy, h, read)
            tau = self.correction.temperature(observed_curl_deg(torch.as_tensor(read)).numpy())
            temperature[seen, h] = 1.0 + (tau - 1.0) * np.clip(hands.gain[seen, h], 0.0, 1.0)
        return HandBatch(world, hands.pixels, hands.gain, kappa.copy(), temperature, hands.wide)

    def wrist_evidence(self, hands: HandBatch) -> torch.Tensor:
        """(B, 24, 3, 3) the palms' evidence on the wrists' world rotations (zero elsewhere)."""
        B = hands.world.shape[0]
        out = torch.zeros(B, NUM_SMPL_JOINTS, 3, 3, dtype=torch.float64)
        out[:, _WRISTS] = palm_evidence(torch.as_tensor(hands.world), torch.as_tensor(hands.gain), self.anatomy.rest)
        return out

    def refine_wrists(self, hands: HandBatch, rotmats: np.ndarray, posterior_F: np.ndarray,
                      uncertainty: np.ndarray) -> None:
        """The palms' evidence added to the network's wrist posteriors, in place (for estimators
        that solve the body before the hands are seen). posterior_F holds, for joints > 0, the
        root-relative matrix-Fisher of G_j G_0ᵀ; the palm term M on G_j is M G_0ᵀ on it. The
        wrist's local rotation takes the new mode; its children keep their local rotations."""
        from .. import fisher
        from ..geometry import local_from_world, world_from_local
        from ..posterior import SAMPLE_SHARPNESS

        local = torch.as_tensor(rotmats, dtype=torch.float64)
        world = world_from_local(local)
        evidence = self.wrist_evidence(hands)
        for side in HAND_SIDES:
            j = WRIST_OF_SIDE[side]
            root = world[:, 0]
            F = torch.as_tensor(posterior_F[:, j], dtype=torch.float64) + evidence[:, j] @ root.mT
            world[:, j] = fisher.mode(F) @ root
            posterior_F[:, j] = F.numpy()
            uncertainty[:, j] = fisher.expected_angle_deg(F * SAMPLE_SHARPNESS).numpy()
        refined = local_from_world(world)
        for side in HAND_SIDES:
            rotmats[:, WRIST_OF_SIDE[side]] = refined[:, WRIST_OF_SIDE[side]].numpy()

    def solve_on_body(self, hands: HandBatch, fields: dict[str, np.ndarray], num_samples: int,
                      generator: torch.Generator | None) -> dict[str, np.ndarray]:
        """`solve` on an estimate's body fields as both estimators hold them: its local `rotmats`
        (B, 24, 3, 3) and, when num_samples, its ghosts' local `samples` (B, S, 24, 3, 3). Only the
        wrists' world rotations are built from them."""
        wrists = world_of_joints(torch.as_tensor(fields["rotmats"], dtype=torch.float64), _WRISTS)
        ghosts = world_of_joints(torch.as_tensor(fields["samples"][:, :num_samples], dtype=torch.float64), _WRISTS) \
            if num_samples else None
        return self._one_thread(hands, wrists, num_samples, generator, ghosts)

    def solve(self, hands: HandBatch, world_rotmats: torch.Tensor, num_samples: int,
              generator: torch.Generator | None, sample_world: torch.Tensor | None = None) -> dict[str, np.ndarray]:
        """The results' hand fields for the batch; world_rotmats (B, 24, 3, 3) the body's modes;
        sample_world (B, S, 24, 3, 3) the body's ghosts as world rotations, if any: finger ghost s
        is then drawn given ghost s's wrist, so it belongs to that ghost (its fingers still point
        where the landmarks saw them when that ghost's wrist turns)."""
        wrists = world_rotmats[:, _WRISTS]
        ghosts = sample_world[:, :num_samples][:, :, _WRISTS] if sample_world is not None and num_samples else None
        return self._one_thread(hands, wrists, num_samples, generator, ghosts)

    def _one_thread(self, hands: HandBatch, wrists: torch.Tensor, num_samples: int, generator: torch.Generator | None,
                    ghost_wrists: torch.Tensor | None) -> dict[str, np.ndarray]:
        """_solve on one torch thread: its work is many tiny 3x3 operations, which a thread pool
        only slows down (about 8x on a busy two-core machine)."""
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._solve(hands, wrists, num_samples, generator, ghost_wrists)
        finally:
            torch.set_num_threads(threads)

    def _solve(self, hands: HandBatch, wrists: torch.Tensor, num_samples: int, generator: torch.Generator | None,
               ghost_wrists: torch.Tensor | None) -> dict[str, np.ndarray]:
        """wrists (B, 2, 3, 3) the body's wrists' world rotations (HAND_SIDES order); ghost_wrists
        (B, S, 2, 3, 3) its ghosts', or None (the fingers' ghosts then drawn on the mode's wrists)."""
        B = hands.world.shape[0]
        wrists = wrists.to(torch.float64)
        post = hands_posterior(self.anatomy, (0, 1), torch.as_tensor(hands.world), torch.as_tensor(hands.gain), wrists,
                               **hands.posterior_terms())
        rot, F = post.local.flatten(1, 2).numpy(), post.F.flatten(1, 2).numpy()
        unc = uncertainty_deg(post).flatten(1, 2).numpy()
        if num_samples and ghost_wrists is not None:  # one draw per body ghost, given its wrist
            per_ghost = replace(post, evidence=post.evidence.repeat_interleave(num_samples, dim=0),
                                prior_F=post.prior_F.repeat_interleave(num_samples, dim=0))
            drawn = sample_hands(self.anatomy, per_ghost, ghost_wrists.to(torch.float64).flatten(0, 1), 1, generator)
        elif num_samples:
            drawn = sample_hands(self.anatomy, post, wrists, num_samples, generator)
        samples = drawn.reshape(B, num_samples, 2 * NUM_FINGER_JOINTS, 3, 3).numpy() if num_samples \
            else np.zeros((B, 0, 2 * NUM_FINGER_JOINTS, 3, 3))
        return {"hand_valid": hands.gain > 0, "hand_score": hands.gain, "hand_rotmats": rot, "hand_posterior_F": F,
                "hand_uncertainty_deg": unc, "hand_samples": samples, "hand_landmarks2d": hands.pixels}

    def reset(self) -> None:
        """Forget the tracks (a new input begins)."""
        self.close()

    def close(self) -> None:
        for landmarker in self._landmarkers.values():
            landmarker.close()
        self._landmarkers = {}
