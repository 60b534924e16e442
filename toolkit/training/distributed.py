"""torch.distributed set-up for runs launched by `torchrun` (NCCL on GPUs, gloo on CPU)."""
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed() -> DistInfo:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); otherwise a no-op."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
    return DistInfo(dist.get_rank(), world_size, local_rank)


def all_true(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True when `flag` holds on every rank (ranks must agree on skipping a step)."""
    if not info.enabled:
        return flag
    t = torch.tensor([0 if flag else 1], device=device)
    dist.all_reduce(t)
    return int(t.item()) == 0


def default_device(info: DistInfo) -> torch.device:
    return torch.device(f"cuda:{info.local_rank}") if torch.cuda.is_available() else torch.device("cpu")
