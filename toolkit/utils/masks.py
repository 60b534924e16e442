"""Padding masks for batches of variable-length sequences."""
import torch
from torch import Tensor


def lengths_to_mask(lengths: Tensor, max_len: int | None = None) -> Tensor:
    """(B,) sequence lengths -> (B, T) bool mask, True on the real steps t < length, False on padding.

    T is `max_len` (the padded length of the batch it masks) or, by default, the longest length.
    The mask lives on the device of `lengths`.
    """
    if max_len is None:
        max_len = int(lengths.max()) if lengths.numel() else 0
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]
