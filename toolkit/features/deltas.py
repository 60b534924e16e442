"""Kaldi `add-deltas`: append delta (and delta-delta, ...) coefficients to features.

The order-i coefficients are one filter applied to the static features with edge frames
replicated, exactly as Kaldi's DeltaFeatures does: the order-1 filter is
`sum_{n=-N..N} n * x[t + n] / sum_{n=-N..N} n^2` (N = `window`), and the order-i filter is the
order-1 filter convolved with the order-(i-1) one. This differs at the edges from applying a
delta function twice (which would replicate the first-order deltas, not the features), so
`torchaudio.functional.compute_deltas` is not reused.

    feats = add_deltas(mfcc)                       # (T, 13) -> (T, 39)
    feats = AddDeltas()(feats, lengths)            # (B, T, D) -> (B, T, 3 * D)
"""
import torch
from torch import Tensor, nn

from toolkit.features.splice import as_padded_batch, context_frames


def delta_filters(order: int = 2, window: int = 2) -> Tensor:
    """Kaldi's delta filters, (order + 1, 2 * order * window + 1) float64, centred on the middle tap."""
    if order < 0 or window < 1:
        raise ValueError(f"need order >= 0 and window >= 1, got order {order}, window {window}")
    taps = torch.arange(-window, window + 1, dtype=torch.float64)
    first = taps / taps.pow(2).sum()
    width = 2 * order * window + 1
    filters = torch.zeros(order + 1, width, dtype=torch.float64)
    current = torch.ones(1, dtype=torch.float64)
    filters[0, order * window] = 1.0
    for i in range(1, order + 1):
        # full convolution of the previous filter with the first-order one (both symmetric in extent)
        current = torch.nn.functional.conv1d(current.view(1, 1, -1), first.flip(0).view(1, 1, -1),
                                             padding=2 * window).view(-1)
        half = (len(current) - 1) // 2
        filters[i, order * window - half: order * window + half + 1] = current
    return filters


def add_deltas(feats: Tensor, order: int = 2, window: int = 2, lengths: Tensor | None = None) -> Tensor:
    """(T, D) -> (T, (order + 1) * D), or (B, T, D) with `lengths`: `[static, delta, delta-delta, ...]`."""
    batch, lengths, single = as_padded_batch(feats, lengths)
    filters = delta_filters(order, window).to(batch.dtype if batch.is_floating_point() else torch.float32)
    reach = order * window
    context = context_frames(batch, lengths, range(-reach, reach + 1)).to(filters.dtype)  # (B, T, K, D)
    out = torch.einsum("btkd,ok->btod", context, filters.to(batch.device)).flatten(2)
    return out[0] if single else out


class AddDeltas(nn.Module):
    """`add_deltas` as a layer: forward(feats (B, T, D), lengths (B,) or None) -> (B, T, (order + 1) * D)."""

    def __init__(self, order: int = 2, window: int = 2):
        super().__init__()
        delta_filters(order, window)  # validate now rather than at the first batch
        self.order, self.window = order, window

    def output_dim(self, input_dim: int) -> int:
        return (self.order + 1) * input_dim

    def forward(self, feats: Tensor, lengths: Tensor | None = None) -> Tensor:
        return add_deltas(feats, self.order, self.window, lengths)

    def extra_repr(self) -> str:
        return f"order={self.order}, window={self.window}"
