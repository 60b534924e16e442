"""Deep bidirectional LSTM with residual or highway connections between layers.

Plain stacks of 6-8 LSTM layers train badly; shortcut connections between layers fix that (residual
LSTM, Kim et al. 2017; highway LSTM, Zhang et al. 2016). Here the shortcuts are between whole
bidirectional layers (`toolkit.models.bilstm.BiLSTMLayer`, exact on padded batches), in pre-norm form:

    x_0 = Linear(feats)                                   (B, T, 2H): the first shortcut needs width 2H
    y_l = Dropout(BiLSTMLayer(Norm(x_{l-1})))
    residual: x_l = x_{l-1} + y_l
    highway:  x_l = g_l * y_l + (1 - g_l) * x_{l-1},  g_l = sigmoid(Linear(Norm(x_{l-1})))
    logits = Linear(Dropout(Norm(x_L)))

Norm is a per-frame LayerNorm (`norm: layer`) or the identity (`norm: none`); being per frame, it never
mixes padding into real frames. The highway gates start biased towards carrying x_{l-1} (bias -1), the
usual highway initialisation, so a deep stack starts close to a shallow one.
"""
import torch
from torch import nn

from toolkit.models.bilstm import BiLSTMLayer

HIGHWAY_GATE_BIAS = -1.0


class ResLSTM(nn.Module):
    """`num_layers` BiLSTM layers of `hidden_dim` per direction with residual/highway shortcuts, per-frame classifier."""

    def __init__(self, input_dim: int, num_classes: int, hidden_dim: int = 256, num_layers: int = 6,
                 connection: str = "residual", norm: str = "layer", dropout: float = 0.2, input_dropout: float = 0.0):
        super().__init__()
        if connection not in ("residual", "highway"):
            raise ValueError(f"unknown connection '{connection}', expected 'residual' or 'highway'")
        if norm not in ("layer", "none"):
            raise ValueError(f"unknown norm '{norm}', expected 'layer' or 'none'")
        width = 2 * hidden_dim
        self.connection = connection
        self.input_dropout = nn.Dropout(input_dropout)
        self.input_proj = nn.Linear(input_dim, width)
        self.layers = nn.ModuleList(BiLSTMLayer(width, hidden_dim) for _ in range(num_layers))
        self.norms = nn.ModuleList(self._norm(norm, width) for _ in range(num_layers + 1))  # + the output's
        if connection == "highway":
            self.gates = nn.ModuleList(nn.Linear(width, width) for _ in range(num_layers))
            for gate in self.gates:
                nn.init.constant_(gate.bias, HIGHWAY_GATE_BIAS)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(width, num_classes)

    @staticmethod
    def _norm(kind: str, width: int) -> nn.Module:
        return nn.LayerNorm(width) if kind == "layer" else nn.Identity()

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """feats: (B, T, D), lengths: (B,) -> logits (B, T, num_classes), lengths (B,)."""
        x = self.input_proj(self.input_dropout(feats))                       # (B, T, 2H)
        for i, layer in enumerate(self.layers):
            h = self.norms[i](x)
            y = self.dropout(layer(h, lengths))                               # (B, T, 2H)
            if self.connection == "residual":
                x = x + y
            else:
                gate = torch.sigmoid(self.gates[i](h))
                x = gate * y + (1 - gate) * x
        return self.output(self.dropout(self.norms[-1](x))), lengths
