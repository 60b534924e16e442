"""Bidirectional LSTM acoustic model over packed sequences (cuDNN kernels on GPU).

Input projection -> `num_layers` BiLSTM layers (dropout between them) -> per-frame classifier.
"""
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class BiLSTM(nn.Module):
    def __init__(self, input_dim: int, num_classes: int, hidden_dim: int = 256, num_layers: int = 3,
                 dropout: float = 0.2, input_dropout: float = 0.0):
        super().__init__()
        self.input_dropout = nn.Dropout(input_dropout)
        self.lstm = nn.LSTM(input_dim, hidden_dim, num_layers=num_layers, bidirectional=True,
                            batch_first=True, dropout=dropout if num_layers > 1 else 0.0)
        self.output_dropout = nn.Dropout(dropout)
        self.output = nn.Linear(2 * hidden_dim, num_classes)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """feats: (B, T, D), lengths: (B,) -> logits (B, T, num_classes), lengths (B,)."""
        packed = pack_padded_sequence(self.input_dropout(feats), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=feats.shape[1])  # (B, T, 2H)
        return self.output(self.output_dropout(out)), lengths
