"""One estimate request for every front end: the same defaults, checks and messages."""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

import pytest

from propose_backend import cli
from propose_backend.request import EstimateRequest, FrameRange, RequestError

FULL = EstimateRequest(input="clip.mp4", output="clip.npz", checkpoint="ck.pth", device="cpu", fp32=True, seed=7,
                       estimator="keypoints", samples=3, batch_size=4, frames="10:50:2", bbox=(1.0, 2.0, 30.0, 40.0),
                       detector="hog", focal_px=1200.0, mirrored=True, smooth=0.5, chunk_frames=16,
                       redetect_every=5)


def test_json_round_trip_keeps_every_field() -> None:
    message = json.loads(json.dumps({"type": "estimate", "id": "j", **FULL.to_json()}))
    assert EstimateRequest.from_json(message) == FULL
    assert "body_model" not in FULL.to_json() and "person" not in FULL.to_json()  # None: the backend's default


@pytest.mark.parametrize("fields, name, words", [
    ({"samples": -1}, "samples", "0 or more"),
    ({"batch_size": 0}, "batch_size", "at least 1"),
    ({"frames": "9:3"}, "frames", "selects no frames"),
    ({"bbox": [0, 0, math.nan, 5]}, "bbox", "finite"),
    ({"bbox": [0, 0, 5]}, "bbox", "[x, y, w, h]"),
    ({"person": -1}, "person", "0 or more"),
    ({"person": 0, "bbox": [0, 0, 5, 5]}, "person", "one or the other"),
    ({"focal_px": 0}, "focal_px", "above 0"),
    ({"smooth": -0.1}, "smooth", "0 (off) or more"),
    ({"estimator": "magic"}, "estimator", "auto, propose, keypoints"),
    ({"detector": "yolo"}, "detector", "auto, blazepose, hog, full-frame"),
    ({"samples": "8"}, "samples", "must be int, got str"),
    ({"mirrored": 1}, "mirrored", "must be bool"),
    ({"focal_px": True}, "focal_px", "must be int or float, got bool"),
])
def test_bad_values_name_their_field(fields: dict, name: str, words: str) -> None:
    with pytest.raises(RequestError) as caught:
        EstimateRequest.from_json({"input": "a.mp4", "output": "a.npz", **fields})
    assert caught.value.field == name and words in caught.value.message and caught.value.kind == "bad_request"


def test_input_and_output_are_required_in_json_only() -> None:
    with pytest.raises(RequestError, match="'output' is missing"):
        EstimateRequest.from_json({"input": "a.mp4"})
    assert EstimateRequest.from_json({}, required=()).samples == 8


def test_the_command_line_maps_onto_the_same_request() -> None:
    args = cli.build_parser().parse_args(
        ["estimate", "-i", "clip.mp4", "--checkpoint", "ck.pth", "--device", "cpu", "--fp32", "--seed", "7",
         "--estimator", "keypoints", "--samples", "3", "--batch-size", "4", "--frames", "10:50:2",
         "--bbox", "1,2,30,40", "--detector", "hog", "--focal-px", "1200", "--mirrored", "--smooth", "0.5",
         "--chunk-frames", "16", "--redetect-every", "5"])
    assert EstimateRequest.from_args(args, input="clip.mp4", output="clip.npz") == FULL


def test_flags_over_defaults_and_person_counts_from_one() -> None:
    args = argparse.Namespace(samples=None, person=2, device="cuda", mirrored=False)
    made = EstimateRequest.from_args(args, {"samples": 4, "device": "cpu", "seed": 3}, input="a.mp4")
    assert (made.samples, made.device, made.seed, made.person, made.input) == (4, "cuda", 3, 1, "a.mp4")
    with pytest.raises(RequestError, match="counts from 1"):
        EstimateRequest.from_args(argparse.Namespace(person=0))


def test_batch_size_follows_the_device_unless_given() -> None:
    assert EstimateRequest().batch_size_for("cuda") == 32 and EstimateRequest().batch_size_for("cpu") == 1
    assert EstimateRequest(batch_size=5).batch_size_for("cuda") == 5


def test_frame_ranges() -> None:
    assert FrameRange.parse("7") == FrameRange(7, 8, 1) and FrameRange.parse("::3") == FrameRange(0, None, 3)
    assert FrameRange.parse("5:20:4").count(100) == 4 and FrameRange.parse("5:").count(None) is None


def test_the_module_is_standalone() -> None:
    """The add-on loads request.py by path: it may import nothing but the standard library."""
    import propose_backend.request as module

    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('lonely_request', {module.__file__!r})\n"
            "m = importlib.util.module_from_spec(spec); sys.modules['lonely_request'] = m\n"
            "spec.loader.exec_module(m)\n"
            "assert m.EstimateRequest(input='a').validate().samples == 8\n"
            "print('numpy' in sys.modules, 'propose_backend' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_one_strength_check_for_estimates_and_re_solves() -> None:
    """The default and the check exist once: an estimate may turn smoothing off (0), a re-solve may not."""
    from propose_backend.request import DEFAULT_SMOOTH, ResolveRequest, check_strength

    assert EstimateRequest(input="a.mp4").smooth == ResolveRequest("a.npz", "b.npz", []).strength == DEFAULT_SMOOTH
    assert EstimateRequest(input="a.mp4", smooth=0).validate().smooth == 0.0
    for bad in (0, -1, float("nan"), True, "1"):
        with pytest.raises(RequestError, match="'strength' must be a smoothing strength above 0"):
            ResolveRequest.from_json({"input": "a.npz", "output": "b.npz", "pins": [], "strength": bad})
    with pytest.raises(RequestError, match="'smooth'"):
        check_strength(-0.5)
    with pytest.raises(RequestError, match="'pins' is missing"):
        ResolveRequest.from_json({"input": "a.npz", "output": "b.npz"})
    sent = ResolveRequest("a.npz", "b.npz", [], 2, 7).validate().to_json()
    assert ResolveRequest.from_json(sent) == ResolveRequest("a.npz", "b.npz", [], 2.0, 7)


def test_devices_the_backend_takes() -> None:
    from propose_backend.request import check_device

    for device in ("auto", "cpu", "cuda", "cuda:0", "cuda:12", "mps"):
        assert EstimateRequest(input="a.mp4", device=device).validate().device == device
    for device in ("gpu", "cuda:", "cuda:x", "cuda:-1"):
        with pytest.raises(RequestError, match="'device'"):
            check_device(device)
