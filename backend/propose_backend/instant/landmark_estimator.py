"""The `keypoints` estimator (instant mode) for the inference pipeline.

Per frame: BlazePose landmarks (from the detector, or from its own BlazePose pass on the person
crop when the detector had none) -> 43-point skeleton -> analytical posterior with the
anatomical joint-limit prior -> mode, limit-respecting samples, uncertainty, and a camera
translation solved from the 2D landmarks. With an SMPL file the body keeps its mean shape
(betas = 0); with the licence-free Anny body, the phenotype (height, proportions) is fitted to the
clip's bone lengths (body.shape_fit) and the results' rest geometry and `phenotype` field are
that fitted body.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import posterior as post
from ..body import load_body
from ..body.layer import BodyLayer
from ..geometry import ray_rotation, reflect_local_rotations
from ..inference.detect import CLOSE_UP_BORDER, BlazePoseDetector, Detection
from ..inference.errors import InferenceError
from ..mirrored import mirror_estimate
from ..streams import RowStreams
from ..inference.protocol import EstimatorSettings, FrameBatch
from ..skeleton import CROP_SIZE
from ..hands.rest import hand_joints, template_hands
from ..hands.solve import FingerSolver
from ..anatomy import Anatomy
from .ghosts import sample_ghosts
from .bone_posterior import instant_posterior, solve_translation
from .arm_reach import arms_to_found_hands
from .foreshortening import LENGTH_WINDOW, leg_depth_from_picture
from .mapping import BP, DerivationFractions, instant_rest_points, landmarks_to_skeleton
from .reading import Reading, joined

WEIGHTS_LABEL = "BlazePose full (mediapipe 0.10.14 wheel) + analytical posterior (instant mode)"


# Landmarks further than this share of the image outside it count as unseen: BlazePose still
# places them (a guess from the visible body), but the anatomical prior is the better guess.
OUT_OF_FRAME_MARGIN = 0.02


def in_frame_visibility(image: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """(N, 33) BlazePose visibility, 0 for landmarks outside the picture (never seen at all)."""
    size = np.asarray(image_size, dtype=np.float64)
    margin = OUT_OF_FRAME_MARGIN * size
    inside = np.all((image[..., :2] >= -margin) & (image[..., :2] <= size + margin), axis=-1)
    return np.where(inside, image[..., 2], 0.0)


def crop_turn(image: np.ndarray, focal: float, principal: tuple[float, float]) -> np.ndarray:
    """(N, 3, 3) the turn from BlazePose's crop view into the full camera's axes, per frame.

    BlazePose (and the hand landmarker) see a crop and give the figure as seen along the crop's
    ray; a person off the image centre is seen obliquely, so the figure is turned by the rotation
    from the optical axis to the ray through the hips (geometry.ray_rotation). Without it, a
    walker crossing the view turned with the viewing angle (+17° to −22° on the CMU walk) and the
    world heading drifted. image: (N, 33, ≥2) landmark pixels.
    """
    return ray_rotation(image[:, [BP["left_hip"], BP["right_hip"]], :2].mean(axis=1), focal, principal)


def turn_into_camera(fields: dict[str, np.ndarray], hands, turn: np.ndarray, camera) -> None:  # noqa: ANN001
    """In place: a batch's body fields and hands, solved in the crop view, turned into the camera's
    axes by `turn` (crop_turn). Everything is solved and sampled in the crop view first (the
    ghosts' depth alternatives lie along the ray), and only then turned; the pelvis `transl` is
    the camera's already and `joints2d` is re-projected. A mirrored figure is reflected after
    this (mirrored.py: across the camera's vertical plane, which carries the turn to the
    reflected ray)."""
    back = np.swapaxes(turn, -1, -2)
    rot = fields["rotmats"].astype(np.float64)
    rot[:, 0] = turn @ rot[:, 0]
    fields["rotmats"] = rot
    if fields["samples"].shape[1]:
        fields["samples"] = turn_ghosts(fields["samples"], turn)
    F = fields["posterior_F"].astype(np.float64)
    F[:, 0] = turn @ F[:, 0]
    F[:, 1:] = turn[:, None] @ F[:, 1:] @ back[:, None]  # root-relative rotations G_j G_0ᵀ turn by conjugation
    fields["posterior_F"] = F
    fields["joints3d"] = np.einsum("nij,nkj->nki", turn, fields["joints3d"].astype(np.float64))
    fields["joints2d"] = camera.project(fields["joints3d"] + fields["transl"][:, None])
    hands.world = np.einsum("nij,nhkj->nhki", turn, hands.world)


def turn_ghosts(samples: np.ndarray, turn: np.ndarray) -> np.ndarray:
    """Ghosts (B, S, 24, 3, 3) drawn in the crop view, turned into the camera's axes (turn_into_camera)."""
    drawn = samples.astype(np.float64)
    drawn[:, :, 0] = turn[:, None] @ drawn[:, :, 0]
    return drawn


class KeypointEstimator:
    """Estimator protocol implementation for instant mode (see inference.protocol.Estimator)."""

    name = "keypoints"
    needs_crops = True  # only used when the detector brought no landmarks for a frame
    needs_landmarks = True

    def __init__(self, settings: EstimatorSettings) -> None:
        files = settings.files
        body, self._body_label = load_body(files.body_model)
        self.shape_fit = None
        self._person_fits: dict[int, object] = {}  # one body fit per person when several are followed
        if body.phenotype is not None:
            from ..body.anny_body import anny_body
            from ..body.shape_fit import PhenotypeFit

            self.shape_fit = PhenotypeFit(anny_body())
            self._new_fit = lambda: PhenotypeFit(anny_body())
        self.layer = BodyLayer(body).double()
        self.betas = torch.zeros(1, 10, dtype=torch.float64)
        rest35 = self.layer.rest_points(self.betas).numpy()
        self.rest_points = instant_rest_points(rest35)
        self.fractions = DerivationFractions.from_rest(rest35)
        self.anatomy = Anatomy.from_rest(rest35)  # joint frames follow the body's own rest bones
        self.fingers = FingerSolver(self._rest_hands(body, rest35))
        self.hands = True  # the results carry the finger fields
        self.seed = settings.seed
        self.generator = torch.Generator().manual_seed(settings.seed)
        self._crop_pose: BlazePoseDetector | None = None  # crops read one at a time
        # Everyone runs: one BlazePose per person in video mode, following them inside their crop
        # frame after frame as the single-person run follows one person on the full frame.
        self._person_poses: dict[int, BlazePoseDetector] = {}

    def _rest_hands(self, body, rest35: np.ndarray) -> np.ndarray:  # noqa: ANN001 - a BodyModelData
        """(2, 21, 3) rest hand landmarks: Anny's own fingers, an SMPL-H / SMPL-X file's, else an
        average hand on the wrists."""
        if body.phenotype is not None:
            from ..body.anny_body import anny_body

            return anny_body().hand_rest(body.phenotype)[0]
        if self.layer.has_fingers:
            return self.layer.hand_rest(self.betas[0].numpy())
        return template_hands(rest35[0, :24])

    def describe(self) -> dict[str, str]:
        return {"weights": WEIGHTS_LABEL, "body_model": self._body_label}

    def _landmarks(self, batch: FrameBatch, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(image landmarks (33, 3) pixels + visibility, world landmarks (33, 3)) of frame k."""
        det: Detection | None = batch.detections[k]
        if det is not None and det.world_landmarks is not None and det.landmarks is not None:
            pixels = det.landmarks[:, :2] * np.asarray(batch.image_size, dtype=np.float64)
            return np.c_[pixels, det.landmarks[:, 3]], det.world_landmarks[:, :3]
        if batch.crops is None:
            return None
        person = int(batch.person[k]) if batch.person is not None and not batch.still else 0
        if person > 0:  # followed frame after frame (-n, a read-back or a second look: one crop at a time;
            # a photo's crops are stills, read as the single-person run reads its crop)
            if person not in self._person_poses:
                self._person_poses[person] = BlazePoseDetector(video=True, border=CLOSE_UP_BORDER)
            pose = self._person_poses[person]
        else:
            if self._crop_pose is None:
                self._crop_pose = BlazePoseDetector(video=False)
            pose = self._crop_pose
        found = pose.detect(np.ascontiguousarray(batch.crops[k][:, :, ::-1]))
        if not found:
            return None
        cx, cy, side = batch.boxes[k]
        pixels = (found[0].landmarks[:, :2] * CROP_SIZE - CROP_SIZE / 2) * side / CROP_SIZE + (cx, cy)
        return np.c_[pixels, found[0].landmarks[:, 3]], found[0].world_landmarks[:, :3]

    def _legs_from_picture(self, batch: FrameBatch, placed: np.ndarray, image: np.ndarray,
                           visibility: np.ndarray) -> np.ndarray:
        """The placed landmarks with the legs' depth read from the picture (foreshortening.py), each
        bone at its median over the latest frames (the phenotype fit's evidence; a frame's own
        length without one)."""
        out = placed.copy()
        people = [None] if batch.person is None else np.unique(np.abs(batch.person))
        for number in people:
            rows = slice(None) if number is None else np.abs(batch.person) == number
            fit = self.shape_fit if number is None else self._person_fits.get(int(number))
            lengths = fit.trailing(batch.frame_index[rows], LENGTH_WINDOW) if fit is not None else {}
            out[rows] = leg_depth_from_picture(placed[rows], image[rows, :, :2], visibility[rows], lengths,
                                               batch.camera.focal_px, batch.camera.principal_pt)
        return out

    def estimate(self, batch: FrameBatch) -> dict[str, np.ndarray]:
        reading = self.read(batch)
        return {**reading.seen(), **self.finish([(reading, np.arange(len(reading)))])}

    def read(self, batch: FrameBatch) -> Reading:
        """The batch read up to its ghosts (instant/reading.py): landmarks, hands seen, the
        posterior, pose, pelvis and overlay, in the camera's axes; `finish` draws the ghosts."""
        count, samples = len(batch.frame_index), batch.num_samples
        seen = [self._landmarks(batch, k) for k in range(count)]
        valid = np.array([s is not None for s in seen])
        image = np.zeros((count, 33, 3))
        world = np.zeros((count, 33, 3))
        for k, s in enumerate(seen):
            if s is not None:
                image[k], world[k] = s
        visibility = in_frame_visibility(image, batch.image_size)
        turn = crop_turn(image, batch.camera.focal_px, batch.camera.principal_pt)
        seen = np.einsum("nij,nkj->nki", turn, world)  # as the full camera sees it: for the translation
        if self.shape_fit is not None and batch.person is None:
            self.shape_fit.observe(world, visibility, valid, batch.frame_index)
        elif self.shape_fit is not None:  # each person's bones feed their own body (-n: person n read backwards)
            for number in np.unique(np.abs(batch.person)):
                rows = np.abs(batch.person) == number
                fit = self._person_fits.setdefault(int(number), self._new_fit())
                fit.observe(world[rows], visibility[rows], valid[rows], batch.frame_index[rows])
        pelvis_world = seen[:, [BP["left_hip"], BP["right_hip"]]].mean(axis=1) \
            + self.fractions.torso[0] * (seen[:, [BP["left_shoulder"], BP["right_shoulder"]]].mean(axis=1)
                                         - seen[:, [BP["left_hip"], BP["right_hip"]]].mean(axis=1))
        transl = solve_translation(seen - pelvis_world[:, None], image[..., :2], image[..., 2],
                                   batch.camera.focal_px, batch.camera.principal_pt)
        placed = self._legs_from_picture(batch, seen - pelvis_world[:, None] + transl[:, None], image, visibility)
        world = world + np.einsum("nji,nkj->nki", turn, placed - transl[:, None] + pelvis_world[:, None] - seen)
        images = batch.images or [None] * count
        hands = self.fingers.observe(images, np.c_[image[..., :2].reshape(-1, 2), visibility.reshape(-1, 1)]
                                     .reshape(count, 33, 3) * valid[:, None, None], batch.person, batch.frame_index,
                                     batch.still)
        arms_to_found_hands(world, placed, hands, turn, batch.camera.focal_px, batch.camera.principal_pt)
        obs = landmarks_to_skeleton(world, visibility, self.fractions)
        hands.seen_along_rays(batch.camera.focal_px, batch.camera.principal_pt, turn)  # into BlazePose's view
        instant = instant_posterior(obs, np.repeat(self.rest_points, count, axis=0), self.anatomy,
                                    extra_evidence=self.fingers.wrist_evidence(hands))
        posterior = instant.posterior
        betas = self.betas.expand(count, 10)
        _, _, points35 = self.layer(betas, posterior.rotmats)
        transl[~valid] = (0.0, 0.0, 1.0)
        out = {
            "betas": betas.numpy(),
            "rotmats": posterior.rotmats.numpy(),
            "posterior_F": posterior.F.numpy(),
            "joints3d": points35.numpy(),
            "uncertainty_deg": post.uncertainty_deg(posterior).numpy(),
            "transl": transl,
            "joints2d": batch.camera.project(points35.numpy() + transl[:, None]),
            "valid": valid,
            "samples": np.zeros((count, 0, 24, 3, 3)),  # drawn by `finish`, in the crop view
        }
        # the hands take the body's turn (their crops lie on nearly the same ray): the palms keep their place
        turn_into_camera(out, hands, turn, batch.camera)
        if batch.mirrored:  # the figure read so far is reflected to the person's own sides
            mirror_estimate(out, hands, batch.camera)
        del out["samples"]
        return Reading(out, instant, hands, turn, np.asarray(batch.frame_index),
                       None if batch.person is None else np.asarray(batch.person), samples, batch.mirrored)

    def finish(self, parts: list[tuple[Reading, np.ndarray]]) -> dict[str, np.ndarray]:
        """The ghosts and the fingers (their posterior and ghost fingers) of the rows `rows` of each
        reading, in order, as one batch: samples, sample_log_density and the hand fields. Rows of
        an everyone run (person numbers) draw from their own streams, seeded by (seed, frame,
        person), so a row's ghosts do not depend on the rows finished with it; a single-person
        run's draw from the run's one generator, frame after frame."""
        reading = joined(parts)
        count, samples = len(reading), reading.num_samples
        generator = self.generator if reading.person is None else \
            RowStreams.seeded(self.seed, reading.frame_index, np.abs(reading.person))
        body = {"rotmats": reading.fields["rotmats"]}
        if samples:
            drawn, density = sample_ghosts(reading.instant, samples, generator)
            drawn = turn_ghosts(drawn.numpy(), reading.turn)
            body["samples"] = reflect_local_rotations(drawn) if reading.mirrored else drawn
            body["sample_log_density"] = density.numpy()
        else:
            body["samples"] = np.zeros((count, 0, 24, 3, 3))
            body["sample_log_density"] = np.zeros((count, 0))
        out = {**body, **self.fingers.solve_on_body(reading.hands, body, samples, generator)}  # ghost s's fingers
        del out["rotmats"]
        return {k: (v if v.dtype == bool else v.astype(np.float32)) for k, v in out.items()}

    def rest_geometry(self, betas: np.ndarray, person: int | None = None) -> dict[str, np.ndarray]:
        if self.shape_fit is not None:
            from ..body.anny_body import fitted_rest_geometry

            fit = self._person_fits.get(person, self.shape_fit) if person is not None else self.shape_fit
            return fitted_rest_geometry(fit.phenotype())
        geometry = self.layer.rest_geometry(betas)  # the body's own (with an SMPL-H / SMPL-X file's fingers)
        if "hand_rest_joints" not in geometry:  # SMPL: template hands on its wrists
            geometry["hand_rest_joints"] = hand_joints(template_hands(geometry["rest_joints"])).astype(np.float32)
        return geometry

    def clip_evidence(self) -> dict[str, np.ndarray]:
        """What this clip showed of the body so far, per frame (a batch joining pieces refits from it)."""
        return self.shape_fit.evidence() if self.shape_fit is not None else {}

    def add_clip_evidence(self, evidence: dict[str, np.ndarray], keep: np.ndarray | None = None) -> None:
        if self.shape_fit is not None and evidence:
            self.shape_fit.add_evidence(evidence, keep)

    def forget(self, person: int) -> None:
        """Person `person`'s crop did not show them (the tracker's word): their BlazePose searches
        the next crop afresh instead of following the body it held."""
        if person in self._person_poses:
            self._person_poses[person].reset()

    def reseed(self) -> None:
        self.generator.manual_seed(self.seed)
        self.fingers.reset()
        if self.shape_fit is not None:  # each input's body from its own frames, not the inputs before it
            self.shape_fit.reset()
        self._person_fits = {}  # a new input: new people
        self._close_person_poses()

    def close(self) -> None:
        """Close the crop BlazePose graph (MediaPipe keeps its threads until closed)."""
        self.fingers.close()
        if self._crop_pose is not None:
            self._crop_pose.close()
            self._crop_pose = None
        self._close_person_poses()

    def _close_person_poses(self) -> None:
        for pose in self._person_poses.values():
            pose.close()
        self._person_poses = {}


def create_estimator(settings: EstimatorSettings) -> KeypointEstimator:
    """Build the instant-mode estimator (propose_backend.estimators opens it for `keypoints`)."""
    try:
        return KeypointEstimator(settings)
    except RuntimeError as exc:  # body-model problems, missing mediapipe
        raise InferenceError("bad_model", str(exc)) from exc


__all__ = ["KeypointEstimator", "create_estimator"]
