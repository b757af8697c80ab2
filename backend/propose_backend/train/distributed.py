"""Process-group set-up from torchrun's environment, and the few collectives the trainer uses.

torchrun (`python -m torch.distributed.run`) sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
MASTER_PORT for every process, on one node or many; a plain `python` start is a world of one.
NCCL connects CUDA ranks, gloo CPU ranks (tests, CPU-only machines).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device: str = "auto") -> DistContext:
    """Joins the process group described by torchrun's variables and picks this rank's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but PyTorch sees no CUDA device; use 'auto' or 'cpu'.")
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(f"local rank {local_rank} has no GPU ({torch.cuda.device_count()} visible); "
                               "start at most one process per GPU (torchrun --nproc_per_node).")
        torch.cuda.set_device(local_rank)
        chosen = torch.device("cuda", local_rank)
    else:
        chosen = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", init_method="env://",
                                world_size=world_size, rank=rank)
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=chosen)


def teardown(ctx: DistContext) -> None:
    """Leaves the group together: a rank that exits while others still talk to it aborts them."""
    if ctx.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def mean_over_ranks(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    if ctx.distributed:
        values = values.clone()
        dist.all_reduce(values)
        values /= ctx.world_size
    return values


def parameter_digest(module: nn.Module) -> str:
    """SHA-256 over every parameter's bytes: equal digests mean bit-identical weights."""
    digest = hashlib.sha256()
    for name, parameter in module.named_parameters():
        digest.update(name.encode())
        digest.update(parameter.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()


def gather_strings(value: str, ctx: DistContext) -> list[str]:
    if not ctx.distributed:
        return [value]
    gathered: list[str] = [""] * ctx.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def broadcast_buffers(module: nn.Module, ctx: DistContext) -> None:
    """Rank 0's BatchNorm statistics everywhere (DDP syncs them before a forward, not after)."""
    if ctx.distributed:
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)
