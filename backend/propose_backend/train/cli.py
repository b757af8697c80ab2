"""`train` and `evaluate` subcommands, for the main CLI and standalone use.

The main `propose-backend` CLI calls `register(subparsers)`; every subcommand stores its handler
as `func` (parsed args → exit code; 1 with a one-line message for errors the user can fix).
Standalone, and under torchrun:

    python -m propose_backend.train.cli train --config smoke
    torchrun --nproc_per_node 4 -m propose_backend.train.cli train --config smpl_hm_xyz
    python -m propose_backend.train.cli evaluate --dataset 3dpw --checkpoint CKPT ...
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
from collections.abc import Callable
from pathlib import Path


def _user_errors() -> tuple[type[Exception], ...]:
    """Failures the user fixes (files, config, data), reported as one line instead of a traceback."""
    from ..body import BodyModelError
    from ..model import CheckpointError
    from .backbone_init import BackboneInitError
    from .checkpoints import SnapshotError
    from .config import ConfigError
    from .datasets import DatasetError
    from .regressor import RegressorError

    return (BodyModelError, CheckpointError, BackboneInitError, SnapshotError, ConfigError, DatasetError,
            RegressorError, FloatingPointError)


def _reporting(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except _user_errors() as exc:
            if getattr(args, "debug", False):  # the main CLI's --debug wants the traceback
                raise
            print(f"error: {exc}", file=sys.stderr, flush=True)
            return 1
    return run


def _apply_overrides(config, args: argparse.Namespace):
    """Command-line values replace the config's, so one YAML serves several runs."""
    run = config.train
    run = dataclasses.replace(
        run,
        out_dir=args.out_dir if args.out_dir is not None else run.out_dir,
        epochs=args.epochs if args.epochs is not None else run.epochs,
        batch_size=args.batch_size if args.batch_size is not None else run.batch_size,
        device=args.device if args.device is not None else run.device,
        precision=args.precision if args.precision is not None else run.precision,
    )
    data = config.data if args.data_root is None else dataclasses.replace(config.data, root=args.data_root)
    return dataclasses.replace(config, train=run, data=data)


def _run_train(args: argparse.Namespace) -> int:
    from .config import load_config
    from .trainer import train

    config = _apply_overrides(load_config(args.config), args)
    result = train(config, resume=args.resume, benchmark_steps=args.benchmark_steps)
    if args.benchmark_steps:
        print(f"{result['images_per_s_per_gpu']:.1f} images/s per GPU "
              f"({result['device']}, batch {result['batch_per_gpu']}, {result['precision']})")
    return 0


def _run_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate

    result = evaluate(
        dataset=args.dataset, checkpoint=args.checkpoint, annotations=args.annotations,
        images=args.images, config=args.config, body_model=args.body_model, regressor=args.regressor,
        flip_test=args.flip_test, batch_size=args.batch_size, device=args.device,
        workers=args.workers, limit=args.limit, json_path=args.json,
    )
    print(result.table())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds `train` and `evaluate` to an argparse subparsers object."""
    train = subparsers.add_parser(
        "train", help="train ProPose (one GPU, or many through torchrun)",
        description="Train ProPose from a YAML config (see docs/training.md). Launch through "
                    "torchrun for several GPUs or nodes.")
    train.add_argument("--config", required=True, type=Path,
                       help="YAML file, or the name of a shipped config (smpl_hm_xyz, smoke)")
    train.add_argument("--resume", default=None,
                       help="training snapshot (checkpoints/epoch_NNN.pt) to continue from, or 'auto'")
    train.add_argument("--out-dir", type=Path, default=None, help="overrides train.out_dir")
    train.add_argument("--data-root", type=Path, default=None, help="overrides data.root")
    train.add_argument("--epochs", type=int, default=None, help="overrides train.epochs")
    train.add_argument("--batch-size", type=int, default=None, help="overrides train.batch_size (per GPU)")
    train.add_argument("--device", choices=("auto", "cuda", "cpu"), default=None)
    train.add_argument("--precision", choices=("auto", "bf16", "fp32"), default=None)
    train.add_argument("--benchmark-steps", type=int, default=0, metavar="N",
                       help="only time N training steps on one cached batch and print images/s per GPU")
    train.set_defaults(func=_reporting(_run_train))

    ev = subparsers.add_parser(
        "evaluate", help="MPJPE / PA-MPJPE / PVE on 3DPW or Human3.6M",
        description="Evaluate a checkpoint with the HybrIK protocol (docs/training.md, Evaluation): 14 joints from the "
                    "Human3.6M regressor, root-aligned MPJPE, PA-MPJPE, and PVE on 3DPW.")
    ev.add_argument("--dataset", required=True, choices=("3dpw", "h36m"))
    ev.add_argument("--checkpoint", required=True, type=Path)
    ev.add_argument("--annotations", required=True, type=Path,
                    help="test annotation file (3DPW_test_new.json / Sample_20_test_Human36M_smpl_protocol_2.json)")
    ev.add_argument("--images", required=True, type=Path, help="image root of that file")
    ev.add_argument("--config", type=Path, default=None,
                    help="training config, for a checkpoint with another backbone or input size")
    ev.add_argument("--body-model", type=Path, default=None, help="SMPL neutral .pkl/.npz (default: demo body)")
    ev.add_argument("--regressor", type=Path, default=Path("model_files/J_regressor_h36m.npy"))
    ev.add_argument("--flip-test", action="store_true", help="average with the mirrored crop (docs/model.md, Flip test)")
    ev.add_argument("--batch-size", type=int, default=32)
    ev.add_argument("--device", default="auto")
    ev.add_argument("--workers", type=int, default=4)
    ev.add_argument("--limit", type=int, default=None, help="only the first N samples")
    ev.add_argument("--json", type=Path, default=None, help="also write the results here")
    ev.set_defaults(func=_reporting(_run_evaluate))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m propose_backend.train.cli",
                                     description="ProPose training and evaluation.")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
