"""SpecAugment (Park et al. 2019): time warping, frequency masks and time masks on a training batch.

A plain `nn.Module` over padded (B, T, D) features with their lengths; it changes nothing in eval
mode, so the same model evaluates and decodes unaugmented. Every mask stays inside its utterance's
real frames (padding is never touched), and a time mask is at most `time_ratio` of the utterance,
so short utterances are not wiped out.

Features made of stacked blocks (Kaldi deltas: [static, delta, delta-delta] along D) are masked
block-wise: a frequency mask hides the same bins in every block (`blocks` = delta_order + 1), so
no block gives away what another hides. Masked values become 0, the mean after normalisation.

Randomness comes from torch's global generator on the features' device, which the trainer saves in
every checkpoint: a resumed run draws the same masks as an uninterrupted one.
"""
import torch
from torch import Tensor, nn

from toolkit.utils.masks import lengths_to_mask


class SpecAugment(nn.Module):
    """freq_masks masks of up to freq_width bins; time_masks masks of up to min(time_width,
    time_ratio * length) frames; time_warp: the largest shift (frames) of a random warp point (0: off)."""

    def __init__(self, freq_masks: int = 2, freq_width: int = 8, time_masks: int = 2, time_width: int = 20,
                 time_ratio: float = 0.2, time_warp: int = 0, blocks: int = 1):
        super().__init__()
        if min(freq_masks, freq_width, time_masks, time_width, time_warp) < 0 or not 0 <= time_ratio <= 1:
            raise ValueError("SpecAugment: mask counts and widths must be >= 0 and time_ratio in [0, 1]")
        if blocks < 1:
            raise ValueError(f"SpecAugment: blocks must be >= 1, got {blocks}")
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.time_masks, self.time_width, self.time_ratio = time_masks, time_width, time_ratio
        self.time_warp, self.blocks = time_warp, blocks

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """x (B, T, D), lengths (B,) -> (B, T, D); the input itself in eval mode."""
        if not self.training:
            return x
        batch, frames, dim = x.shape
        if dim % self.blocks:
            raise ValueError(f"SpecAugment: feature dim {dim} is not {self.blocks} blocks (delta_order + 1)")
        lengths = lengths.to(x.device)
        if self.time_warp > 0:
            x = self._warp(x, lengths)
        valid = lengths_to_mask(lengths, frames)                                  # (B, T)
        bins = dim // self.blocks
        freq = _bands(self.freq_masks, torch.full((batch,), self.freq_width, device=x.device),
                      torch.full((batch,), bins, device=x.device), bins)           # (B, F)
        max_time = torch.clamp((self.time_ratio * lengths).floor().long(), max=self.time_width)
        time = _bands(self.time_masks, max_time, lengths, frames)                  # (B, T)
        hidden = (freq[:, None, None, :] & valid[:, :, None, None]) | time[:, :, None, None]  # (B, T, 1, F)
        return x.view(batch, frames, self.blocks, bins).masked_fill(hidden, 0.0).view(batch, frames, dim)

    def _warp(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Move a random frame c of each utterance to c + w (|w| <= time_warp), stretching the frames
        before it and squeezing those after it (or the reverse) by linear interpolation; the length and
        the first and last frames are kept. Utterances shorter than 2 * time_warp + 3 frames stay as they are."""
        batch, frames, _ = x.shape
        W = self.time_warp
        long_enough = lengths >= 2 * W + 3
        span = (lengths - 2 * W - 2).clamp_min(1)
        centre = W + 1 + (torch.rand(batch, device=x.device) * span).long()       # in [W + 1, L - W - 2]
        shift = (torch.rand(batch, device=x.device) * (2 * W + 1)).long() - W     # in [-W, W]
        c, moved, L = centre[:, None].float(), (centre + shift)[:, None].float(), lengths[:, None].float()
        t = torch.arange(frames, device=x.device).float()[None, :]                 # (1, T)
        end = L - 1                                                               # first and last frames stay
        source = torch.where(t < moved, t * c / moved, c + (t - moved) * (end - c) / (end - moved))  # (B, T)
        warped = long_enough[:, None] & (t < L)                                   # padding maps to itself
        source = torch.where(warped, torch.minimum(source.clamp_min(0), end), t)
        low = source.floor().long()
        high = torch.minimum(low + 1, end.long().expand_as(low))
        high = torch.where(warped, high, low)
        frac = (source - low.float())[..., None].to(x.dtype)
        pick = lambda index: torch.gather(x, 1, index[..., None].expand_as(x))
        return pick(low) * (1 - frac) + pick(high) * frac

    def extra_repr(self) -> str:
        return (f"freq_masks={self.freq_masks}, freq_width={self.freq_width}, time_masks={self.time_masks}, "
                f"time_width={self.time_width}, time_ratio={self.time_ratio}, time_warp={self.time_warp}, "
                f"blocks={self.blocks}")


def _bands(count: int, max_width: Tensor, extent: Tensor, size: int) -> Tensor:
    """Union of `count` random bands per row: (B, size) bool. Each band's width is uniform in
    [0, max_width[b]] and it lies inside [0, extent[b])."""
    batch = extent.shape[0]
    positions = torch.arange(size, device=extent.device)[None, :]                 # (1, size)
    hidden = torch.zeros(batch, size, dtype=torch.bool, device=extent.device)
    max_width = torch.minimum(max_width, extent)
    for _ in range(count):
        width = (torch.rand(batch, device=extent.device) * (max_width + 1)).long().clamp(max=max_width)
        start = (torch.rand(batch, device=extent.device) * (extent - width + 1)).long().clamp(max=extent - width)
        hidden |= (positions >= start[:, None]) & (positions < (start + width)[:, None])
    return hidden
