"""One request, one run plan: the batch size, the protocol line and what the estimator and the
pipeline get are decided in run_plan only."""
from __future__ import annotations

import pytest

from propose_backend.inference import ModelFiles
from propose_backend.request import EstimateRequest, RequestError, ResolveRequest
from propose_backend.run_plan import RunPlan, batch_size_for


def test_batch_size_follows_the_device_unless_given() -> None:
    assert batch_size_for(None, "cuda") == 32 and batch_size_for(None, "cpu") == 1
    assert batch_size_for(5, "cuda") == 5 and batch_size_for(5, None) == 5
    assert batch_size_for(None, None) == 0  # not known yet: each batch worker decides on its device
    assert RunPlan(EstimateRequest(), "cuda").batch_size == 32
    assert RunPlan(EstimateRequest(), "cuda").for_workers().batch_size == 0
    assert RunPlan(EstimateRequest(batch_size=4), "cuda").for_workers().batch_size == 4


def test_the_plan_resolves_auto_to_this_machines_device() -> None:
    import torch

    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    plan = RunPlan(EstimateRequest(device="auto")).resolved()
    assert plan.device_type == expected and plan.batch_size == batch_size_for(None, expected)
    assert RunPlan(EstimateRequest(device="cpu")).resolved().device_type == "cpu"


def test_seed_smoothing_and_person_reach_the_estimator_and_the_pipeline(tmp_path) -> None:
    wanted = EstimateRequest(input="a.mp4", seed=7, smooth=0.25, person=2, samples=3, frames="2:10:2",
                             fp32=True, device="cpu").validate()
    plan = RunPlan(wanted, "cpu")
    options = plan.estimate_options()
    assert (options.seed, options.smooth, options.person, options.samples, options.batch_size) == (7, 0.25, 2, 3, 1)
    assert (options.frames.start, options.frames.stop, options.frames.step) == (2, 10, 2)
    files = ModelFiles(None, None, tmp_path)
    settings = plan.estimator_settings(files)
    assert (settings.seed, settings.device, settings.batch_size, settings.bf16, settings.files) == (7, "cpu", 1, False, files)
    with pytest.raises(TypeError, match="only an estimate"):
        RunPlan(ResolveRequest(input="a.npz", output="b.npz", pins=[])).estimate_options()


@pytest.mark.parametrize("request_", [
    EstimateRequest(input="a.mp4", output="a.npz", seed=3, smooth=0.5, person=1),
    ResolveRequest(input="a.npz", output="b.npz", pins=[], strength=2.0, seed=4),
])
def test_the_protocol_line_reads_back_as_the_same_plan(request_) -> None:
    """What the add-on's runner sends is what the service runs."""
    line = RunPlan(request_).message("job-1")
    assert line["id"] == "job-1" and line["type"] == ("estimate" if isinstance(request_, EstimateRequest) else "resolve")
    assert RunPlan.from_message(line).request == request_
    with pytest.raises(RequestError, match="type"):
        RunPlan.from_message({**line, "type": "people"})
