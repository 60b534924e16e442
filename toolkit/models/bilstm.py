"""Bidirectional LSTM acoustic model.

Each layer runs a forward and a backward `nn.LSTM` on the padded batch (cuDNN on GPU, oneDNN on
CPU); the backward direction reads every utterance reversed *within its own length*, so padding
never reaches a real frame and the outputs equal those of packed sequences exactly. On CPU this is
about 6x faster than PyTorch's packed-sequence LSTM, which cannot use the oneDNN kernels.
"""
import torch
from torch import nn

from toolkit.utils.masks import lengths_to_mask


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of x (B, T, D) within its length; padding stays at the end."""
    lengths = lengths.to(x.device)
    t = torch.arange(x.shape[1], device=x.device)                            # (T,)
    index = torch.where(lengths_to_mask(lengths, x.shape[1]), lengths[:, None] - 1 - t, t)  # (B, T)
    return torch.gather(x, 1, index[:, :, None].expand_as(x))


class BiLSTMLayer(nn.Module):
    """One bidirectional layer: (B, T, D) -> (B, T, 2H), exact for padded variable-length batches."""

    def __init__(self, input_dim: int, hidden_dim: int):
        super().__init__()
        self.forward_lstm = nn.LSTM(input_dim, hidden_dim, batch_first=True)
        self.backward_lstm = nn.LSTM(input_dim, hidden_dim, batch_first=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        fwd, _ = self.forward_lstm(x)
        bwd, _ = self.backward_lstm(reverse_padded(x, lengths))
        return torch.cat([fwd, reverse_padded(bwd, lengths)], dim=-1)


class BiLSTM(nn.Module):
    """`num_layers` BiLSTM layers with dropout between them, then a per-frame classifier."""

    def __init__(self, input_dim: int, num_classes: int, hidden_dim: int = 256, num_layers: int = 3,
                 dropout: float = 0.2, input_dropout: float = 0.0):
        super().__init__()
        self.input_dropout = nn.Dropout(input_dropout)
        self.layers = nn.ModuleList(BiLSTMLayer(input_dim if i == 0 else 2 * hidden_dim, hidden_dim)
                                    for i in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(2 * hidden_dim, num_classes)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """feats: (B, T, D), lengths: (B,) -> logits (B, T, num_classes), lengths (B,)."""
        x = self.input_dropout(feats)
        for i, layer in enumerate(self.layers):
            x = layer(x if i == 0 else self.dropout(x), lengths)             # (B, T, 2H)
        return self.output(self.dropout(x)), lengths
