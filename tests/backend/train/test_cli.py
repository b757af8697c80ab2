"""`register(subparsers)` for the main CLI, and the standalone module entry point."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from propose_backend.train.cli import register

BACKEND = Path(__file__).resolve().parents[3] / "backend"


def test_register_adds_train_and_evaluate() -> None:
    parser = argparse.ArgumentParser(prog="propose-backend")
    register(parser.add_subparsers(dest="command", required=True))
    train = parser.parse_args(["train", "--config", "smoke", "--resume", "auto", "--benchmark-steps", "5"])
    assert callable(train.func) and train.resume == "auto" and train.benchmark_steps == 5
    evaluate = parser.parse_args(["evaluate", "--dataset", "h36m", "--checkpoint", "c.pth", "--annotations",
                                  "a.json", "--images", "img", "--flip-test"])
    assert callable(evaluate.func) and evaluate.flip_test and evaluate.regressor == Path(
        "model_files/J_regressor_h36m.npy")


def test_standalone_module_help() -> None:
    env = {**os.environ, "PYTHONPATH": str(BACKEND)}
    done = subprocess.run([sys.executable, "-m", "propose_backend.train.cli", "train", "--help"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--benchmark-steps" in done.stdout


def test_user_errors_are_one_line(tmp_path: Path, capsys) -> None:
    from propose_backend.train.cli import main

    config = tmp_path / "c.yaml"
    config.write_text("data:\n  sources:\n    h36m: {ratio: 1.0, annotations: missing.json, images: img}\n"
                      "data_root_is_wrong: 1\n")
    assert main(["train", "--config", str(config)]) == 1
    assert "unknown key(s) data_root_is_wrong" in capsys.readouterr().err
    config.write_text(f"body_model: demo\ndata:\n  root: {tmp_path}\n  sources:\n"
                      "    h36m: {ratio: 1.0, annotations: missing.json, images: img}\n"
                      f"train: {{out_dir: {tmp_path / 'run'}}}\n")
    assert main(["train", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: h36m: annotation file not found") and "missing.json" in err
