"""Length-bucketed batches: utterances of similar length together, at most `max_frames` padded
frames per batch, batch order reshuffled every epoch from `seed + epoch` (so a resumed run sees
the same order as an uninterrupted one), batches dealt out to DDP ranks."""
import random
from typing import Iterator

from torch.utils.data import Sampler


class BucketBatchSampler(Sampler[list[int]]):
    def __init__(self, lengths: list[int], max_frames: int, *, max_batch_size: int = 256, shuffle: bool = True,
                 seed: int = 0, rank: int = 0, world_size: int = 1):
        if not lengths:
            raise ValueError("BucketBatchSampler: no utterances")
        self.shuffle, self.seed, self.rank, self.world_size = shuffle, seed, rank, world_size
        self.epoch = 0
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        self.batches: list[list[int]] = []
        batch: list[int] = []
        for i in order:
            # Sorted by length, so the padded size of the batch is len(batch) * lengths[i].
            if batch and ((len(batch) + 1) * lengths[i] > max_frames or len(batch) >= max_batch_size):
                self.batches.append(batch)
                batch = []
            batch.append(i)
        self.batches.append(batch)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _epoch_batches(self) -> list[list[int]]:
        batches = list(self.batches)
        if self.shuffle:
            random.Random(self.seed + self.epoch).shuffle(batches)
        if self.world_size > 1:  # every rank must take the same number of steps
            usable = len(batches) - len(batches) % self.world_size
            batches = batches[:usable][self.rank::self.world_size]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._epoch_batches())

    def __len__(self) -> int:
        return len(self.batches) // self.world_size if self.world_size > 1 else len(self.batches)
