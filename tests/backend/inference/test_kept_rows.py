"""An everyone run's ghosts: drawn only for the rows the tracker keeps, several frames in one batch,
each row's the same as in a batch of its frame's people."""
from __future__ import annotations

import numpy as np
import pytest

from propose_backend import people_file, results
from propose_backend.crowd_clip import SHIRTS, identity_report, swing_walker, write_crowd_clip
from propose_backend.inference import EstimateOptions, estimate_file, everyone
from propose_backend.inference.crop import CropBox, ImageCamera
from propose_backend.inference.crowd import Placement
from propose_backend.inference.kept_rows import KeptRows
from propose_backend.inference.people import find_people
from tests.backend.inference.test_everyone import OPTIONS
from tests.real_data import street_frames

GHOSTS = ("samples", "sample_log_density", "hand_samples", "hand_rotmats", "hand_valid")


@pytest.fixture(scope="module")
def street_people():
    """Three people of the real street clip, on two frames: (frames, their crops)."""
    frames = street_frames([10, 11])
    found = find_people(frames[0])[:3]
    assert len(found) == 3
    return frames, [Placement(n + 1, CropBox.around(*d.box)) for n, d in enumerate(found)]


def _batch(estimator, image: np.ndarray, index: int, placements: list[Placement]):  # noqa: ANN001, ANN202
    height, width = image.shape[:2]
    return everyone._batch([image] * len(placements), index, placements, estimator,
                           ImageCamera.for_image(width, height), EstimateOptions(**OPTIONS), (width, height))


def test_ghosts_are_drawn_only_for_the_rows_kept_and_as_their_frames_batch_draws_them(instant, street_people,
                                                                                       monkeypatch):
    frames, placements = street_people
    instant.reseed()  # each variant reads the crops afresh (the readers follow people frame to frame)
    full = [instant.estimate(_batch(instant, image, 10 + t, placements)) for t, image in enumerate(frames)]
    finished: list[int] = []
    finish = instant.finish
    monkeypatch.setattr(instant, "finish", lambda parts: finished.append(sum(len(k) for _, k in parts))
                        or finish(parts))
    instant.reseed()
    later = KeptRows(instant, hold=4)
    written: list[int] = []
    reads = []
    for t, (image, keep) in enumerate(zip(frames, (np.array([True, False, True]), np.array([True, True, False])))):
        read = later.read(_batch(later, image, 10 + t, placements))
        assert "samples" not in read and read["rotmats"].shape == full[t]["rotmats"].shape
        np.testing.assert_array_equal(read["joints2d"], full[t]["joints2d"])  # what the tracker decides on
        later.later([(read, keep)], lambda t=t: written.append(t))
        reads.append((read, keep))
        assert finished == [] if t == 0 else finished == [4]  # held until 4 kept rows wait, then one batch
    assert written == [0, 1]  # each frame's rows went on once their ghosts were in, in order
    for (read, keep), whole in zip(reads, full):
        for name in GHOSTS:  # rows kept: as their frame's batch of three drew them; the other: none
            np.testing.assert_array_equal(read[name][keep], whole[name][keep], err_msg=name)
            assert not read[name][~keep].any(), name


@pytest.mark.slow  # renders a clip and runs an everyone run on it
def test_a_read_back_draws_ghosts_only_for_the_rows_it_keeps(instant, tmp_path, monkeypatch):
    """Someone stepping out from behind another is read back one crop at a time (rewind.py); the
    crops that were not them are dropped without ghosts, and every row written got its ghosts."""
    frames = 30
    front = swing_walker(frames, (0.3, 4.0), (0.6, 4.0), SHIRTS[0])
    behind = swing_walker(frames, (0.2, 6.5), (-3.0, 6.5), SHIRTS[1], phase=1.0)
    truth = write_crowd_clip(tmp_path / "behind.avi", [front, behind])
    read, finished = [], []
    read_batch, finish = instant.read, instant.finish
    monkeypatch.setattr(instant, "read", lambda batch: read.append(len(batch.frame_index)) or read_batch(batch))
    monkeypatch.setattr(instant, "finish", lambda parts: finished.append(sum(len(k) for _, k in parts))
                        or finish(parts))
    hidden, hide = [], everyone.hide_covered  # rows the tracker kept that the files then mark unseen

    def hiding(people):  # noqa: ANN001 - occlusion.hide_covered, counting the rows it marks unseen
        seen = sum(int(data["valid"].sum()) for data in people.values())
        people = hide(people)
        hidden.append(seen - sum(int(data["valid"].sum()) for data in people.values()))
        return people

    monkeypatch.setattr(everyone, "hide_covered", hiding)
    summary = estimate_file(tmp_path / "behind.avi", tmp_path / "behind.npz", instant, EstimateOptions(**OPTIONS))
    index = people_file.read_index(summary.output)
    assert index["timing"]["frames_read_back"] > 0
    assert identity_report(summary.output, truth["boxes"], truth["placed"])["switches"] == 0
    people = [results.read_results(p["path"]) for p in index["people"]]
    kept = sum(int(p["valid"].sum()) for p in people)
    assert sum(finished) == kept + sum(hidden) < sum(read)  # ghosts for every row kept, and for no other
    assert len(finished) < len(read) / 3  # several frames' rows in one batch
    for data in people:
        valid = data["valid"]
        assert np.all(np.abs(np.linalg.det(data["samples"][valid]) - 1) < 1e-4)  # every row kept has its ghosts
