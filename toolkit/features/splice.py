"""Kaldi `splice-feats`: stack each frame with its neighbours, replicating the first/last frame at the edges.

    spliced = splice_feats(feats, left_context=4, right_context=4)   # (T, D) -> (T, 9 * D)
    spliced = Splice(5, 5)(feats, lengths)                           # (B, T, D) -> (B, T, 11 * D)

Output frame t is `[x[t - left], ..., x[t], ..., x[t + right]]` with indices clamped to the
utterance, as Kaldi does. In a padded batch each utterance is clamped to its own length, so padding
never leaks into real frames, and padded frames come out as zeros.
"""
import torch
from torch import Tensor, nn

from toolkit.utils.masks import lengths_to_mask


def as_padded_batch(feats: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor, bool]:
    """(B, T, D) features and (B,) lengths from a single (T, D) matrix or a padded batch."""
    feats = torch.as_tensor(feats)
    if feats.dim() not in (2, 3):
        raise ValueError(f"expected features of shape (T, D) or (B, T, D), got {tuple(feats.shape)}")
    single = feats.dim() == 2
    if single:
        feats = feats[None]
    if lengths is None:
        lengths = torch.full((feats.shape[0],), feats.shape[1], dtype=torch.long)
    lengths = torch.as_tensor(lengths, dtype=torch.long, device=feats.device)
    if lengths.shape != feats.shape[:1] or (lengths > feats.shape[1]).any():
        raise ValueError(f"lengths {lengths.tolist()} do not fit features of shape {tuple(feats.shape)}")
    return feats, lengths, single


def context_frames(feats: Tensor, lengths: Tensor, offsets: range) -> Tensor:
    """Frames at `t + offset` for each offset, clamped to each utterance: (B, T, D) -> (B, T, K, D).

    Frames at t >= length are zero.
    """
    batch, frames, dim = feats.shape
    t = torch.arange(frames, device=feats.device)
    offsets = torch.as_tensor(list(offsets), device=feats.device)
    last = (lengths - 1).clamp(min=0)[:, None, None]                           # (B, 1, 1)
    index = torch.minimum((t[:, None] + offsets[None, :]).clamp(min=0)[None], last)  # (B, T, K)
    picked = torch.gather(feats, 1, index.reshape(batch, -1, 1).expand(-1, -1, dim))
    picked = picked.view(batch, frames, len(offsets), dim)
    valid = lengths_to_mask(lengths, frames)[:, :, None, None]                 # (B, T, 1, 1)
    return picked.masked_fill(~valid, 0.0)


def splice_feats(feats: Tensor, left_context: int = 4, right_context: int = 4,
                 lengths: Tensor | None = None) -> Tensor:
    """Kaldi splice-feats on (T, D) -> (T, (left + 1 + right) * D), or (B, T, D) with `lengths`."""
    if left_context < 0 or right_context < 0:
        raise ValueError(f"contexts must be >= 0, got left {left_context}, right {right_context}")
    batch, lengths, single = as_padded_batch(feats, lengths)
    spliced = context_frames(batch, lengths, range(-left_context, right_context + 1)).flatten(2)
    return spliced[0] if single else spliced


class Splice(nn.Module):
    """`splice_feats` as a layer: forward(feats (B, T, D), lengths (B,) or None) -> (B, T, (l + 1 + r) * D)."""

    def __init__(self, left_context: int = 4, right_context: int = 4):
        super().__init__()
        self.left_context, self.right_context = left_context, right_context

    def output_dim(self, input_dim: int) -> int:
        return (self.left_context + 1 + self.right_context) * input_dim

    def forward(self, feats: Tensor, lengths: Tensor | None = None) -> Tensor:
        return splice_feats(feats, self.left_context, self.right_context, lengths)

    def extra_repr(self) -> str:
        return f"left_context={self.left_context}, right_context={self.right_context}"
