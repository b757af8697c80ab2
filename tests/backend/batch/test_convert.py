"""A library of clips becomes a library of animations: results -> .blend and FBX by the Ray workers (bpy module)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from propose_backend.batch.report import BatchReport
from propose_backend.batch.runner import BatchSettings, run_batch
from propose_backend.inference import EstimateOptions, EstimatorSettings, ModelFiles
from propose_backend.jobs import Job
from propose_backend.request import EstimateRequest
from tests.real_data import photo

pytestmark = pytest.mark.slow
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def test_each_results_file_becomes_a_blend_and_an_fbx(local_ray, tmp_path: Path) -> None:
    out = tmp_path / "out"
    jobs = [Job(photo(192), out / "a.propose.npz"), Job(photo(241), out / "b.propose.npz")]
    request = EstimateRequest(estimator="keypoints", device="cpu", samples=2, output=str(out)).validate()
    settings = EstimatorSettings(ModelFiles(None, None, tmp_path / "no_model_files"), device="cpu")
    batch = BatchSettings(workers=2, convert=(".blend", ".fbx"))

    def run() -> tuple[dict, str]:
        stream = io.StringIO()
        summary = run_batch(jobs, request, settings, EstimateOptions.from_request(request, 1), batch,
                            BatchReport(stream=stream))
        return summary, stream.getvalue()

    summary, printed = run()
    assert summary["clips"]["done"] == 2, printed
    for stem in ("a", "b"):
        blend, fbx = out / f"{stem}.blend", out / f"{stem}.fbx"
        assert blend.read_bytes()[:4] in (b"BLEN", ZSTD_MAGIC), printed  # Blender 5 saves zstd-compressed .blend
        assert fbx.read_bytes()[:18] == b"Kaydara FBX Binary", printed
    books = json.loads((out / "propose-batch.json").read_text())["clips"]
    assert sorted(Path(p).name for p in books[str(out / "a.propose.npz")]["conversions"]) == ["a.blend", "a.fbx"]

    (out / "b.fbx").unlink()  # a re-run makes only what is missing: b's FBX, without estimating anything
    again, printed = run()
    assert again["clips"]["skipped"] == 2 and again["frames"] == 0, printed
    converted = [line for line in printed.splitlines() if ": converted -> " in line]
    assert len(converted) == 1 and str(out / "b.fbx") in converted[0] and (out / "b.fbx").is_file(), printed
