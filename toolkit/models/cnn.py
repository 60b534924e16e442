"""CNN acoustic model: time-frequency convolutions, then a dense or recurrent head.

The features (B, T, D) are seen as an image over (time, frequency) with `delta_order + 1` channels
(Kaldi add-deltas stacks `[static, delta, delta-delta]` along D, so each block of D / (delta_order + 1)
coefficients becomes one input channel, as in CNN acoustic models of Abdel-Hamid et al. 2014).
Each conv block is Conv2d -> BatchNorm -> ReLU -> max-pool over frequency only, so the frame rate
is kept; the channels x pooled frequencies of each frame then feed a per-frame head:

    head: dnn      Linear -> BatchNorm -> ReLU -> Dropout layers (toolkit.models.dnn.DNN, no splicing;
                   the convolutions supply the context)
    head: bilstm   BiLSTM layers (toolkit.models.bilstm.BiLSTM)

Padded batches: padded frames are zeroed before every convolution and BatchNorm statistics come from
real frames only, so a real frame's output is the same alone or in any batch (up to float rounding).
`time_stride` > 1 max-pools the first block over time as well (for CTC), with
`out_lengths = ceil(lengths / time_stride)`; after the ReLU all values are >= 0, so the zeroed padding
inside a pooling window never changes a maximum.
"""
import torch
from torch import nn

from toolkit.models.bilstm import BiLSTM
from toolkit.models.dnn import DNN
from toolkit.utils.masks import lengths_to_mask


class ConvBlock(nn.Module):
    """(B, C_in, T, F) -> (B, C_out, ceil(T / time_pool), ceil(F / freq_pool)); padded frames come out zero."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, int], freq_pool: int,
                 time_pool: int = 1):
        super().__init__()
        if any(k % 2 == 0 for k in kernel_size):
            raise ValueError(f"kernel_size must be odd in time and frequency (centred 'same' padding), got {kernel_size}")
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=(kernel_size[0] // 2, kernel_size[1] // 2),
                              bias=False)                                      # BatchNorm supplies the bias
        self.norm = nn.BatchNorm1d(out_channels)
        self.pool = nn.MaxPool2d((time_pool, freq_pool), ceil_mode=True)
        self.time_pool = time_pool

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = lengths_to_mask(lengths, x.shape[2])                             # (B, T)
        x = self.conv(x * mask[:, None, :, None])                               # (B, C, T, F)
        # BatchNorm over real frames only: (N_real, C, F) through BatchNorm1d, padding written back as 0.
        frames = x.transpose(1, 2)                                              # (B, T, C, F)
        normed = frames.new_zeros(frames.shape)
        normed[mask] = self.norm(frames[mask])
        x = torch.relu(normed).transpose(1, 2)                                  # (B, C, T, F), >= 0, padding 0
        return self.pool(x), torch.div(lengths + self.time_pool - 1, self.time_pool, rounding_mode="floor")


class CNN(nn.Module):
    """Conv blocks over (time, frequency), then a per-frame `dnn` or `bilstm` head and classifier.

    channels: output channels of each conv block (one block per entry); kernel_size: (time, freq);
    freq_pool: max-pool width over frequency in every block; time_stride: frame subsampling (1 keeps T);
    hidden_dim / num_layers / dropout: the head's (per direction for bilstm).
    """

    def __init__(self, input_dim: int, num_classes: int, delta_order: int = 0,
                 channels: tuple[int, ...] = (32, 32), kernel_size: tuple[int, int] = (5, 3), freq_pool: int = 2,
                 time_stride: int = 1, head: str = "dnn", hidden_dim: int = 512, num_layers: int = 2,
                 dropout: float = 0.15):
        super().__init__()
        in_channels = delta_order + 1
        if input_dim % in_channels:
            raise ValueError(f"input_dim {input_dim} is not (delta_order + 1) = {in_channels} blocks of coefficients")
        if time_stride < 1 or not channels:
            raise ValueError(f"need time_stride >= 1 and at least one conv block, got {time_stride}, {channels}")
        self.in_channels, self.time_stride = in_channels, time_stride
        blocks, freq = [], input_dim // in_channels
        for i, out_channels in enumerate(channels):
            blocks.append(ConvBlock(in_channels, out_channels, tuple(kernel_size), freq_pool,
                                    time_pool=time_stride if i == 0 else 1))
            in_channels, freq = out_channels, -(-freq // freq_pool)
        self.blocks = nn.ModuleList(blocks)
        conv_dim = in_channels * freq
        if head == "dnn":
            self.head = DNN(conv_dim, num_classes, hidden_dim=hidden_dim, num_layers=num_layers, context=0,
                            dropout=dropout)
        elif head == "bilstm":
            self.head = BiLSTM(conv_dim, num_classes, hidden_dim=hidden_dim, num_layers=num_layers, dropout=dropout)
        else:
            raise ValueError(f"unknown CNN head '{head}', expected 'dnn' or 'bilstm'")

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """feats: (B, T, D), lengths: (B,) -> logits (B, T', num_classes), out_lengths (B,); T' = ceil(T / stride)."""
        lengths = lengths.to(feats.device)
        batch, frames, dim = feats.shape
        # (B, T, C * F) -> (B, C, T, F): channel c holds coefficients c * F .. (c + 1) * F - 1
        x = feats.reshape(batch, frames, self.in_channels, dim // self.in_channels).transpose(1, 2)
        for block in self.blocks:
            x, lengths = block(x, lengths)                                      # (B, C', T', F')
        x = x.transpose(1, 2).flatten(2)                                        # (B, T', C' * F')
        return self.head(x, lengths)
