"""Feed-forward acoustic model on spliced frames (the classic hybrid DNN).

Each output frame sees the input frames t-context .. t+context (Kaldi splice-feats, edges
replicated), then `num_layers` hidden layers of Linear -> BatchNorm -> ReLU -> Dropout.
"""
import torch
from torch import nn

from toolkit.features.splice import splice_feats
from toolkit.utils.masks import lengths_to_mask


class DNN(nn.Module):
    def __init__(self, input_dim: int, num_classes: int, hidden_dim: int = 1024, num_layers: int = 4,
                 context: int = 5, dropout: float = 0.15):
        super().__init__()
        self.context = context
        layers: list[nn.Module] = []
        dim = input_dim * (2 * context + 1)
        for _ in range(num_layers):
            layers += [nn.Linear(dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(), nn.Dropout(dropout)]
            dim = hidden_dim
        self.hidden = nn.Sequential(*layers)
        self.output = nn.Linear(dim, num_classes)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """feats: (B, T, D), lengths: (B,) -> logits (B, T, num_classes), lengths (B,)."""
        x = splice_feats(feats, self.context, self.context, lengths)          # (B, T, D * (2c+1))
        mask = lengths_to_mask(lengths.to(x.device), x.shape[1])                  # (B, T)
        # BatchNorm statistics must come from real frames only, not padding.
        h = x.new_zeros(*x.shape[:2], self.output.in_features)
        h[mask] = self.hidden(x[mask])                    # (N_real_frames, H)
        return self.output(h), lengths
