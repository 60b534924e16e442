"""Gammatone filterbank on the ERB scale as a batched, optionally learnable frontend.

    frontend = Gammatone(num_channels=40)                        # fixed: precompute to ark/scp
    frontend = Gammatone(num_channels=40, trainable=True)        # the model's first layer
    feats, frame_lengths = frontend(waves, lengths)   # waves: (B, S) in [-1, 1] -> feats: (B, T, 40)

Design (Glasberg & Moore 1990): the equivalent rectangular bandwidth of the auditory filter at f Hz
is ERB(f) = 24.7 (4.37 f / 1000 + 1) Hz, and the ERB-rate scale (the number of ERBs below f) is
E(f) = 21.4 log10(4.37 f / 1000 + 1). Channel centres are equally spaced in E from `low_freq` to
`high_freq` (both included). Each channel is an order-n gammatone, t^(n-1) exp(-2 pi b t) cos(2 pi fc t),
with the standard b = 1.019 ERB(fc) for n = 4: the equivalent rectangular bandwidth of its power
response, b sqrt(pi) Gamma(n - 1/2) / Gamma(n) = 0.982 b, is then ERB(fc).

Implementation (frequency domain, chosen for speed): the filters are applied to the same short-time
power spectrum as Kaldi's fbank (framing, dither, DC removal, pre-emphasis, povey window and FFT of
`toolkit.features.kaldi.SpectralFrontend`, with the same options and defaults), with the power response

    |H_c(f)|^2 = (1 + ((f - fc_c) / b_c)^2)^(-n)

sampled at the FFT bins: a (C, n_fft // 2) matrix product per frame, about the cost of `Fbank`. This
is the exact power response of the analytic (complex) gammatone, an n-fold one-pole resonator; the
real filter adds an image at -fc that matters only for centres within a few bandwidths of 0 Hz. It is
a smooth function of fc and b, so both are learnt by backpropagation. Its limit is the frame's
resolution: the lowest channels are narrower than an FFT bin (31.25 Hz for 25 ms at 16 kHz) and the
window's main lobe, so neighbouring low channels see nearly the same bins. (The time-domain
alternative, an FIR convolution per channel at the sample rate, resolves them but costs C
convolutions of ~25 ms kernels per sample, i.e. orders of magnitude more.)

Normalisation: every filter has unit (0 dB) gain at its centre, like Kaldi's mel triangles, so wider
high-frequency channels collect more energy, as in a fbank. Compression: `log` is the log of the
channel energy floored at float32 eps (Kaldi's fbank floor), on the int16 signal scale like `Fbank`;
`cube_root` is energy^(1/3) (the loudness-like compression of gammatone-cepstral / GFCC front ends),
floored the same way so that its gradient stays finite. No mean/variance normalisation happens here:
the acoustic model's normaliser (or CMVN of precomputed features) does it; `subtract_mean=True`
removes each utterance's mean as in Kaldi.

Parametrisation: `centre_erb_rate` (C,) holds E(fc) and `log_bandwidth` (C,) holds ln(b / 1 Hz), both
`nn.Parameter`s, frozen unless `trainable=True`. One optimiser step then moves every centre by a
similar amount on the auditory scale and scales every bandwidth by a similar ratio, whatever the
channel; b stays positive. `init="random"` draws a filterbank that knows nothing of the auditory
scale, seeded by `seed` (same numbers on every machine): centres uniform in Hz between `low_freq` and
`high_freq`, bandwidths log-uniform between those of the lowest and the highest gammatone channel,
channels sorted by centre frequency.
"""
import torch
from torch import Tensor, nn

from toolkit.features.kaldi import _EPSILON, FrameOptions, SpectralFrontend

INITS = ("gammatone", "random")
COMPRESSIONS = ("log", "cube_root")


def erb(freq: Tensor) -> Tensor:
    """Equivalent rectangular bandwidth (Hz) of the auditory filter at `freq` Hz (Glasberg & Moore 1990)."""
    return 24.7 * (4.37 * freq / 1000 + 1)


def hz_to_erb_rate(freq: Tensor) -> Tensor:
    """ERB-rate (number of ERBs below `freq` Hz): 21.4 log10(4.37 f / 1000 + 1)."""
    return 21.4 * torch.log10(4.37 * freq / 1000 + 1)


def erb_rate_to_hz(rate: Tensor) -> Tensor:
    """Inverse of `hz_to_erb_rate`."""
    return (torch.pow(10.0, rate / 21.4) - 1) * 1000 / 4.37


class Gammatone(SpectralFrontend):
    """Gammatone filterbank energies on the ERB scale, batched; `feature_dim = num_channels`.

    forward(waves: (B, S) float in [-1, 1], lengths: (B,)) -> (feats (B, T, num_channels), frame_lengths (B,))
    `framing`: any field of `toolkit.features.kaldi.FrameOptions` (`Fbank`'s framing options and defaults:
    Kaldi's, dither 0), as keywords. `high_freq <= 0` means Nyquist + high_freq.
    """

    def __init__(self, *, num_channels: int = 40, low_freq: float = 50.0, high_freq: float = 0.0, order: int = 4,
                 bandwidth_factor: float = 1.019, compression: str = "log", init: str = "gammatone", seed: int = 0,
                 input_scale: float = 32768.0, trainable: bool = False, **framing):
        super().__init__(FrameOptions(**framing), input_scale=input_scale)
        nyquist = 0.5 * self.sample_frequency
        high = high_freq if high_freq > 0 else nyquist + high_freq
        if not 0.0 <= low_freq < high <= nyquist:
            raise ValueError(f"bad gammatone band: low_freq {low_freq} Hz, high_freq {high_freq} Hz (-> {high} Hz) "
                             f"must satisfy 0 <= low < high <= Nyquist {nyquist} Hz")
        if num_channels < 2:
            raise ValueError(f"num_channels {num_channels}: a filterbank needs at least 2 channels")
        if order < 1 or bandwidth_factor <= 0:
            raise ValueError(f"gammatone order {order} must be >= 1 and bandwidth_factor {bandwidth_factor} > 0")
        if compression not in COMPRESSIONS:
            raise ValueError(f"unknown compression '{compression}', expected one of {', '.join(COMPRESSIONS)}")
        if init not in INITS:
            raise ValueError(f"unknown init '{init}', expected one of {', '.join(INITS)}")
        self.num_channels, self.order, self.compression, self.init = num_channels, order, compression, init
        self.low_freq, self.high_freq, self.bandwidth_factor = float(low_freq), float(high), bandwidth_factor

        edges = torch.tensor([self.low_freq, self.high_freq], dtype=torch.float64)
        if init == "gammatone":
            rate = torch.linspace(*hz_to_erb_rate(edges).tolist(), num_channels, dtype=torch.float64)
            bandwidth = bandwidth_factor * erb(erb_rate_to_hz(rate))
        else:
            gen = torch.Generator().manual_seed(seed)
            centre = torch.rand(num_channels, generator=gen, dtype=torch.float64).sort().values
            rate = hz_to_erb_rate(self.low_freq + centre * (self.high_freq - self.low_freq))
            log_b = (bandwidth_factor * erb(edges)).log()
            bandwidth = torch.exp(log_b[0] + torch.rand(num_channels, generator=gen, dtype=torch.float64)
                                  * (log_b[1] - log_b[0]))
        self.centre_erb_rate = nn.Parameter(rate.float(), requires_grad=trainable)         # (C,) E(fc)
        self.log_bandwidth = nn.Parameter(bandwidth.log().float(), requires_grad=trainable)  # (C,) ln(b / Hz)
        self.register_buffer("bin_frequencies", self.fft_frequencies(), persistent=False)   # (n_fft // 2,) Hz

    @property
    def trainable(self) -> bool:
        return self.centre_erb_rate.requires_grad

    @property
    def feature_dim(self) -> int:
        return self.num_channels

    def centre_frequencies(self) -> Tensor:
        """Channel centre frequencies fc (Hz), (C,)."""
        return erb_rate_to_hz(self.centre_erb_rate)

    def bandwidths(self) -> Tensor:
        """Channel bandwidths b (Hz), (C,); 1.019 ERB(fc) at a gammatone init."""
        return self.log_bandwidth.exp()

    def frequency_response(self, freqs: Tensor) -> Tensor:
        """Power responses |H_c(f)|^2 at `freqs` Hz (F,) -> (C, F), 1 at each centre."""
        offset = (freqs[None, :] - self.centre_frequencies()[:, None]) / self.bandwidths()[:, None]
        return (1 + offset.square()).pow(-self.order)

    def filter_weights(self) -> Tensor:
        """The filters applied to the power spectrum, (C, n_fft // 2): the responses at the FFT bins."""
        return self.frequency_response(self.bin_frequencies)

    def extra_repr(self) -> str:
        return (f"sample_frequency={self.sample_frequency}, frame_length={self.frame_length}, "
                f"frame_shift={self.frame_shift}, num_channels={self.num_channels}, low_freq={self.low_freq}, "
                f"high_freq={self.high_freq}, order={self.order}, compression={self.compression}, "
                f"init={self.init}, dither={self.dither}, trainable={self.trainable}")

    def _frame_features(self, frames: Tensor, filters: Tensor) -> Tensor:
        power, _ = self._power_spectrum(frames)                            # (..., n_fft // 2)
        energy = torch.matmul(power, filters.t()).clamp(min=_EPSILON)      # (..., C)
        return energy.log() if self.compression == "log" else energy.pow(1.0 / 3.0)


# The name DESIGN.md uses for it (`from toolkit.features import GammatoneFilterbank`).
GammatoneFilterbank = Gammatone
