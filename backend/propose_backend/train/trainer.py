"""The training loop: DDP through torchrun, bf16 autocast on GPU, snapshots, resume, export.

    propose-backend train --config CONFIG.yaml                        # one process
    torchrun --nproc_per_node 8 -m propose_backend.train.cli train --config CONFIG.yaml
    torchrun --nnodes 2 --node_rank R --master_addr HOST --master_port 29500 \\
             --nproc_per_node 8 -m propose_backend.train.cli train --config CONFIG.yaml

One step (docs/training.md, Model and losses): network under autocast → analytical posterior with S samples (fp32) →
losses → backward → per-tensor gradient clipping → Adam. The learning rate drops at the
configured epochs (MultiStep). Rank 0 logs, writes snapshots every `checkpoint_every` epochs and,
at the end, exports the released checkpoint format to `<out_dir>/propose_trained.pth`.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import torch
import yaml
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..body import BodyModelData, training_body
from ..model import ProPoseNet
from . import distributed as dist
from . import synthetic
from .backbone_init import init_backbone
from .checkpoints import latest_snapshot, load_snapshot, restore_rng, save_snapshot, snapshot_path
from .config import Config, ConfigError
from .datasets import EpochSampler, build_training_set
from .export import export_released
from .forward import SampledPosterior
from .losses import training_losses
from .progress import ProgressBar, TrainLog, format_losses
from .regressor import load_h36m_regressor
from .skinning import SupervisedPoints

EXPORT_NAME = "propose_trained.pth"
BENCHMARK_WARMUP_STEPS = 3


@dataclass
class TrainSummary:
    out_dir: Path
    epochs: int
    steps: int
    world_size: int
    images_per_s_per_gpu: float
    losses: dict[str, float] = field(default_factory=dict)
    exported: Path | None = None
    rank_digests: list[str] = field(default_factory=list)


def clip_per_tensor(parameters: list[Tensor], max_norm: float) -> None:
    """clip_grad_norm_(p, max_norm) for every tensor p separately, in three fused kernels."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    norms = torch.stack(torch._foreach_norm(grads))
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    torch._foreach_mul_(grads, list(scale.unbind()))


def sampling_seed(seed: int, rank: int, step: int) -> int:
    """Posterior samples of a step depend only on (seed, rank, step): resumable and rank-distinct."""
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1)[0])


def load_body(config: Config) -> BodyModelData:
    return training_body(config.body_model)


def _prepare_synthetic(config: Config, ctx: dist.DistContext, log: TrainLog) -> None:
    """Renders the synthetic set for sources that ask for it (`generate: N`) and lack it."""
    for source in config.data.sources:
        if source.generate <= 0 or (config.data.root / source.annotations).is_file():
            continue
        if source.annotations != synthetic.TRAIN_FILE or source.images != synthetic.IMAGE_DIR:
            raise ConfigError(f"data.sources.{source.name}: `generate` writes the synthetic layout; "
                              f"use annotations: {synthetic.TRAIN_FILE} and images: {synthetic.IMAGE_DIR}")
        if ctx.is_main:
            log.info(f"rendering {source.generate} synthetic samples into {config.data.root}")
            synthetic.generate(config.data.root, count=source.generate, seed=config.train.seed)
    dist.barrier(ctx)


def _quiet_worker(_: int) -> None:
    """Loader workers: one thread each, the parallelism comes from the number of workers."""
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


class Trainer:
    """Holds one rank's model, data and optimiser; `run()` trains, `benchmark()` times steps."""

    def __init__(self, config: Config, resume: Path | str | None = None) -> None:
        self.config = config
        self.ctx = dist.setup(config.train.device)
        run = config.train
        self.out_dir = run.out_dir
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.log = TrainLog(self.out_dir, enabled=self.ctx.is_main)
        self.device = self.ctx.device
        self.bf16 = run.precision == "bf16" or (run.precision == "auto" and self.device.type == "cuda")
        torch.manual_seed(run.seed)
        np.random.seed(run.seed)
        random.seed(run.seed)

        body = load_body(config)
        self.body = body
        self.h36m_regressor = (None if config.h36m_regressor is None
                               else load_h36m_regressor(config.h36m_regressor, body.num_vertices))
        _prepare_synthetic(config, self.ctx, self.log)
        self.dataset = build_training_set(config.data, config.model.input_size, SupervisedPoints(body), run.seed)
        share = len(self.dataset) // self.ctx.world_size
        if run.steps_per_epoch is not None:
            share = min(share, run.steps_per_epoch * run.batch_size)
        if share < run.batch_size:
            raise ConfigError(f"train.batch_size {run.batch_size} exceeds the {share} samples each of "
                              f"{self.ctx.world_size} rank(s) gets per epoch")
        self.sampler = EpochSampler(len(self.dataset), self.ctx.rank, self.ctx.world_size, run.seed,
                                    samples_per_rank=share - share % run.batch_size)
        self.loader = DataLoader(self.dataset, batch_size=run.batch_size, sampler=self.sampler,
                                 num_workers=config.data.workers, drop_last=True,
                                 pin_memory=self.device.type == "cuda", worker_init_fn=_quiet_worker)

        self.net = ProPoseNet(config.model.layout())
        self._initialise_weights()
        self.net.to(self.device)
        if self.device.type == "cuda":
            self.net.to(memory_format=torch.channels_last)
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        self.model = DistributedDataParallel(self.net, device_ids=device_ids) if self.ctx.distributed else self.net
        m = config.model
        self.head = SampledPosterior(SupervisedPoints(body), m.kappa, m.num_samples, m.sample_sharpness).to(self.device)
        self.parameters = list(self.net.parameters())
        self.optimizer = torch.optim.Adam(self.parameters, lr=config.optim.lr)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer, milestones=list(config.optim.milestones), gamma=config.optim.gamma)
        self.start_epoch, self.global_step = 0, 0
        if resume is not None:
            self._resume(resume)

    # --- set-up -------------------------------------------------------------------------------

    def _initialise_weights(self) -> None:
        model = self.config.model
        if model.mean_shape is not None:
            if not model.mean_shape.is_file():
                raise ConfigError(f"model.mean_shape: {model.mean_shape} not found. h36m_mean_beta.npy (the "
                                  "mean betas the release starts from) comes with HybrIK's model files; "
                                  "or set mean_shape: null to start from zeros.")
            mean = np.load(model.mean_shape, allow_pickle=False).astype(np.float32).reshape(-1)
            if mean.shape != (10,):
                raise ConfigError(f"model.mean_shape: {model.mean_shape} holds {mean.shape[0]} values, not 10 betas")
            self.net.init_shape.copy_(torch.from_numpy(mean))
        if model.backbone_init is not None:
            self.log.info(init_backbone(self.net.preact, model.backbone_init).summary())

    def _resume(self, resume: Path | str) -> None:
        path = latest_snapshot(self.out_dir) if str(resume) == "auto" else Path(resume)
        if path is None:
            self.log.info(f"--resume auto: no snapshot in {self.out_dir / 'checkpoints'}; starting fresh")
            return
        state = load_snapshot(path)
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.start_epoch, self.global_step = int(state["epoch"]), int(state["global_step"])
        restore_rng(state["rng"])
        self.log.info(f"resumed from {path}: {self.start_epoch} epochs / {self.global_step} steps done")

    # --- one step -------------------------------------------------------------------------------

    def step(self, images: Tensor, targets: dict[str, Tensor]) -> dict[str, Tensor]:
        images = images.to(self.device, non_blocking=True)
        if self.device.type == "cuda":
            images = images.contiguous(memory_format=torch.channels_last)
        targets = {k: v.to(self.device, non_blocking=True) for k, v in targets.items()}
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            net_out = self.model(images)
        generator = torch.Generator(self.device).manual_seed(
            sampling_seed(self.config.train.seed, self.ctx.rank, self.global_step))
        losses = training_losses(self.head(net_out, generator), targets, self.config.loss)
        self.optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        clip_per_tensor(self.parameters, self.config.optim.grad_clip)
        self.optimizer.step()
        self.global_step += 1
        return {name: value.detach() for name, value in losses.items()}

    # --- training ---------------------------------------------------------------------------------

    def _describe(self) -> None:
        sources = ", ".join(f"{s.name} {len(s)} ({p:.0%})" for s, p in
                            zip(self.dataset.sources, self.dataset.probabilities, strict=True))
        params = sum(p.numel() for p in self.parameters)
        self.log.info(f"{self.ctx.world_size} process(es) on {device_name(self.device)}, "
                      f"{'bf16' if self.bf16 else 'fp32'}, batch {self.config.train.batch_size}/GPU, "
                      f"{len(self.loader)} steps/epoch, {params:,} parameters")
        self.log.info(f"data: {sources}")

    def run(self) -> TrainSummary:
        run = self.config.train
        if self.ctx.is_main:
            (self.out_dir / "config.yaml").write_text(yaml.safe_dump(self.config.to_dict(), sort_keys=False))
        self._describe()
        records = (open(self.out_dir / f"samples_rank{self.ctx.rank}.txt", "a", encoding="utf-8")  # noqa: SIM115
                   if run.record_samples else None)
        images_timed, seconds_timed, last = 0, 0.0, {}
        try:
            for epoch in range(self.start_epoch, run.epochs):
                images, seconds, last = self._epoch(epoch, records)
                if epoch > self.start_epoch or run.epochs - self.start_epoch == 1:
                    images_timed, seconds_timed = images_timed + images, seconds_timed + seconds
                self.scheduler.step()
                done = epoch + 1
                if self.ctx.is_main and (done % run.checkpoint_every == 0 or done == run.epochs):
                    path = save_snapshot(snapshot_path(self.out_dir, done), self.net, self.optimizer,
                                         self.scheduler, done, self.global_step, self.config.to_dict())
                    self.log.info(f"snapshot {path}")
                dist.barrier(self.ctx)
        finally:
            if records is not None:
                records.close()
        return self._finish(last, images_timed / max(seconds_timed, 1e-9))

    def _epoch(self, epoch: int, records: TextIO | None) -> tuple[int, float, dict[str, float]]:
        """One epoch; returns (images per GPU, seconds, mean losses of the last interval)."""
        run = self.config.train
        self.sampler.set_epoch(epoch)
        bar = ProgressBar(len(self.loader), f"epoch {epoch + 1}/{run.epochs}", enabled=self.ctx.is_main)
        sums: dict[str, Tensor] = {}
        count, interval_start, epoch_start, status, means = 0, time.perf_counter(), time.perf_counter(), "", {}
        for index, (images, targets, paths, _) in enumerate(self.loader):
            if records is not None:
                records.writelines(f"{epoch} {self.global_step} {p}\n" for p in paths)
            losses = self.step(images, targets)
            for name, value in losses.items():
                sums[name] = sums.get(name, 0.0) + value
            count += 1
            if count == run.log_every or index + 1 == len(self.loader):
                means = self._log_interval(epoch, sums, count, time.perf_counter() - interval_start)
                status = f"loss {means['total']:.4f} | {means['images_per_s_per_gpu']:.1f} img/s/GPU"
                sums, count, interval_start = {}, 0, time.perf_counter()
            bar.update(index + 1, status)
        bar.close()
        return len(self.loader) * run.batch_size, time.perf_counter() - epoch_start, means

    def _log_interval(self, epoch: int, sums: dict[str, Tensor], count: int, seconds: float) -> dict[str, float]:
        names = list(sums)
        values = dist.mean_over_ranks(torch.stack([sums[n] for n in names]) / count, self.ctx).tolist()
        means = dict(zip(names, values, strict=True))
        if not math.isfinite(means["total"]):
            raise FloatingPointError(f"the loss became {means['total']} at step {self.global_step}: "
                                     f"{format_losses(means)}. Lower optim.lr or check the data.")
        throughput = count * self.config.train.batch_size / max(seconds, 1e-9)
        lr = self.optimizer.param_groups[0]["lr"]
        self.log.record(epoch=epoch + 1, step=self.global_step, lr=lr, images_per_s_per_gpu=throughput, **means)
        self.log.info(f"epoch {epoch + 1} step {self.global_step} lr {lr:.2e} {format_losses(means)} "
                      f"| {throughput:.1f} images/s per GPU")
        return {**means, "images_per_s_per_gpu": throughput}

    def _finish(self, losses: dict[str, float], throughput: float) -> TrainSummary:
        digests = dist.gather_strings(dist.parameter_digest(self.net), self.ctx)
        if len(set(digests)) != 1:
            raise RuntimeError(f"ranks ended with different weights ({digests}); the DDP run is broken.")
        dist.broadcast_buffers(self.net, self.ctx)  # rank 0's BatchNorm statistics, as exported
        summary = TrainSummary(out_dir=self.out_dir, epochs=self.config.train.epochs, steps=self.global_step,
                               world_size=self.ctx.world_size, images_per_s_per_gpu=throughput,
                               losses=losses, rank_digests=digests)
        if self.ctx.is_main:
            summary.exported = export_released(self.net, self.body, self.out_dir / EXPORT_NAME,
                                               self.h36m_regressor)
            self.log.info(f"exported {summary.exported} (released checkpoint format); "
                          f"weights identical on {len(digests)} rank(s)")
            payload = {**vars(summary), "out_dir": str(self.out_dir), "exported": str(summary.exported)}
            (self.out_dir / "summary.json").write_text(json.dumps(payload, indent=2))
        return summary

    # --- benchmark ------------------------------------------------------------------------------

    def benchmark(self, steps: int) -> dict:
        """Times full training steps on one cached batch, so data loading does not count."""
        images, targets, _, _ = next(iter(self.loader))
        for _ in range(BENCHMARK_WARMUP_STEPS):
            self.step(images, targets)
        synchronize(self.device)
        start = time.perf_counter()
        for _ in range(steps):
            self.step(images, targets)
        synchronize(self.device)
        seconds = time.perf_counter() - start
        batch = self.config.train.batch_size
        per_gpu = dist.mean_over_ranks(torch.tensor([batch * steps / seconds]), self.ctx).item()
        result = {
            "device": device_name(self.device), "world_size": self.ctx.world_size,
            "batch_per_gpu": batch, "precision": "bf16" if self.bf16 else "fp32",
            "input_size": self.config.model.input_size, "num_samples": self.config.model.num_samples,
            "steps": steps, "ms_per_step": 1000 * seconds / steps, "images_per_s_per_gpu": per_gpu,
        }
        self.log.info(f"benchmark: {result['device']} × {self.ctx.world_size}, batch {batch}/GPU, "
                      f"{result['precision']}: {per_gpu:.1f} images/s per GPU "
                      f"({result['ms_per_step']:.1f} ms/step over {steps} steps)")
        if self.ctx.is_main:
            with open(self.out_dir / "benchmark.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps(result) + "\n")
        return result

    def close(self) -> None:
        self.log.close()
        dist.teardown(self.ctx)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"


def train(config: Config, resume: Path | str | None = None, benchmark_steps: int = 0) -> TrainSummary | dict:
    """Entry point of `propose-backend train`: a full run, or a benchmark when benchmark_steps > 0."""
    trainer = Trainer(config, resume)
    try:
        return trainer.benchmark(benchmark_steps) if benchmark_steps > 0 else trainer.run()
    finally:
        trainer.close()
