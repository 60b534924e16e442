"""Kaldi filterbank and MFCC features as batched `nn.Module`s (CPU or GPU).

`Fbank` and `Mfcc` compute, for a padded batch of waveforms, the same numbers as
`torchaudio.compliance.kaldi.fbank` / `.mfcc` (and so Kaldi's `compute-fbank-feats` /
`compute-mfcc-feats`) run on each utterance alone with the same options:

    frontend = Fbank(num_mel_bins=40)
    feats, frame_lengths = frontend(waves, lengths)   # waves: (B, S) in [-1, 1], lengths: (B,)
    # feats: (B, T, 40), padded frames are 0; frame_lengths: (B,)

Input scale: waveforms are floats in [-1, 1] (what `toolkit.data.audio.read_audio` returns). They
are multiplied by `input_scale` (default 32768) before anything else, so the features equal Kaldi's
on the 16-bit integer signal, energies and `energy_floor` included. Pass `input_scale=1.0` for
waveforms that are already on the int16 scale.

The options keep Kaldi's names (as `torchaudio.compliance.kaldi` spells them) and are listed once,
with their defaults, in the dataclasses `FrameOptions` (framing and power spectrum, shared with
`toolkit.features.gammatone.Gammatone`), `MelOptions` (mel filterbank and frame energy), `FbankOptions`
and `MfccOptions`; `Fbank(**options)` and `Mfcc(**options)` take any of their fields as keywords.
Defaults are Kaldi's, with three deliberate differences: `dither=0.0` (Kaldi: 1.0) so that features
are deterministic, `Fbank(num_mel_bins=40)` (Kaldi: 23), and `use_energy`/`energy_floor` follow Kaldi
(MFCC `use_energy=True`, `energy_floor=0.0`), which differ from torchaudio's defaults. `dither > 0`
adds Gaussian noise of that standard deviation (int16 units, as in Kaldi) to every frame on every
call, as Kaldi does, so features are then random.

The mel filterbank weights are an `nn.Parameter` (`mel_weights`, (num_mel_bins, n_fft // 2)), frozen
unless `trainable=True`: a learnable mel frontend is this same class, and at initialisation it gives
exactly the fixed features, which is what lets a precomputed fbank and a "learnable mel at init"
be the same thing. The filters applied are `|mel_weights|` (`filter_weights()`): always non-negative,
so every channel stays an energy and its log is defined, and exactly Kaldi's triangles at init. As
the gradient of |w| at w = 0 is 0, weights outside a triangle's support stay 0 under training: each
filter learns its shape within its initial band and cannot spread over the whole spectrum.
Every frame reads only samples of its own utterance (padding never leaks in), so results do not
depend on how the batch was padded. On GPUs the whole padded batch is computed at
once; on CPU each utterance is computed in cache-sized pieces of frames (same numbers, faster).
"""
import math
from dataclasses import asdict, dataclass

import torch
import torchaudio
from torch import Tensor, nn
from torchaudio.compliance.kaldi import get_mel_banks

from toolkit.utils.masks import lengths_to_mask

WINDOW_TYPES = ("hamming", "hanning", "povey", "rectangular", "blackman")
_EPSILON = torch.finfo(torch.float32).eps  # Kaldi's floor before every log


def _window(window_type: str, size: int, blackman_coeff: float) -> Tensor:
    """Kaldi's analysis window, (size,) float32."""
    if window_type == "hanning":
        return torch.hann_window(size, periodic=False)
    if window_type == "hamming":
        return torch.hamming_window(size, periodic=False, alpha=0.54, beta=0.46)
    if window_type == "povey":
        return torch.hann_window(size, periodic=False).pow(0.85)
    if window_type == "rectangular":
        return torch.ones(size)
    if window_type == "blackman":
        a = 2 * math.pi / (size - 1)
        n = torch.arange(size, dtype=torch.float32)
        return blackman_coeff - 0.5 * torch.cos(a * n) + (0.5 - blackman_coeff) * torch.cos(2 * a * n)
    raise ValueError(f"unknown window_type '{window_type}', expected one of {', '.join(WINDOW_TYPES)}")


@dataclass
class FrameOptions:
    """Kaldi's framing and power-spectrum options, shared by every `SpectralFrontend`.
    `frame_length`/`frame_shift` are in ms; `dither` is 0 (Kaldi: 1) so that features are deterministic."""
    sample_frequency: float = 16000.0
    frame_length: float = 25.0
    frame_shift: float = 10.0
    preemphasis_coefficient: float = 0.97
    window_type: str = "povey"
    blackman_coeff: float = 0.42
    remove_dc_offset: bool = True
    round_to_power_of_two: bool = True
    snip_edges: bool = True
    dither: float = 0.0
    subtract_mean: bool = False


@dataclass
class MelOptions(FrameOptions):
    """`FrameOptions` plus Kaldi's mel filterbank and frame-energy options, shared by fbank and MFCC."""
    num_mel_bins: int = 23
    low_freq: float = 20.0
    high_freq: float = 0.0
    use_energy: bool = False
    energy_floor: float = 0.0
    raw_energy: bool = True
    htk_compat: bool = False
    vtln_warp: float = 1.0
    vtln_low: float = 100.0
    vtln_high: float = -500.0


@dataclass
class FbankOptions(MelOptions):
    """Every option of `compute-fbank-feats` (`torchaudio.compliance.kaldi.fbank`); 40 mel bins (Kaldi: 23)."""
    num_mel_bins: int = 40
    use_log_fbank: bool = True
    use_power: bool = True


@dataclass
class MfccOptions(MelOptions):
    """Every option of `compute-mfcc-feats` (`torchaudio.compliance.kaldi.mfcc`)."""
    use_energy: bool = True
    num_ceps: int = 13
    cepstral_lifter: float = 22.0


class SpectralFrontend(nn.Module):
    """Kaldi's framing, dither, DC removal, pre-emphasis, window and power spectrum, batched: the part
    shared by every frontend that reads the short-time power spectrum (`Fbank`, `Mfcc`,
    `toolkit.features.gammatone.Gammatone`). Subclasses define `feature_dim`, `filter_weights()` (the
    (C, n_fft // 2) filters, computed once per call) and `_frame_features` (frames (..., W) on the
    int16 scale, filters -> (..., feature_dim)); `forward` does the rest.
    `energy_floor`/`raw_energy` shape the log frame energy (`MelOptions`), which only fbank/MFCC use."""

    def __init__(self, options: FrameOptions, *, input_scale: float, energy_floor: float = 0.0,
                 raw_energy: bool = True):
        super().__init__()
        self.options = o = options
        self.sample_frequency = float(o.sample_frequency)
        self.frame_length, self.frame_shift = float(o.frame_length), float(o.frame_shift)
        self.window_shift = int(o.sample_frequency * o.frame_shift * 0.001)
        self.window_size = int(o.sample_frequency * o.frame_length * 0.001)
        if self.window_size < 2 or self.window_shift < 1:
            raise ValueError(f"frame_length {o.frame_length} ms / frame_shift {o.frame_shift} ms give a window of "
                             f"{self.window_size} and a shift of {self.window_shift} samples at "
                             f"{o.sample_frequency} Hz")
        if not 0.0 <= o.preemphasis_coefficient <= 1.0:
            raise ValueError(f"preemphasis_coefficient {o.preemphasis_coefficient} is not in [0, 1]")
        self.padded_window_size = (2 ** (self.window_size - 1).bit_length() if o.round_to_power_of_two
                                   else self.window_size)
        if self.padded_window_size % 2:
            raise ValueError(f"the FFT size {self.padded_window_size} is odd; set round_to_power_of_two=True "
                             "or change frame_length")
        self.preemphasis_coefficient = o.preemphasis_coefficient
        self.remove_dc_offset = o.remove_dc_offset
        self.snip_edges = o.snip_edges
        self.dither = o.dither
        self.energy_floor = energy_floor
        self.raw_energy = raw_energy
        self.subtract_mean = o.subtract_mean
        self.input_scale = input_scale
        # Frames per piece on CPU (see _features_in_chunks); 0 computes the whole padded batch at once,
        # as other devices (GPUs) always do.
        self.cpu_chunk_frames = 256
        self.register_buffer("window", _window(o.window_type, self.window_size, o.blackman_coeff), persistent=False)

    @property
    def feature_dim(self) -> int:
        raise NotImplementedError

    def filter_weights(self) -> Tensor:
        """The filters applied to the power spectrum, (C, n_fft // 2)."""
        raise NotImplementedError

    def fft_frequencies(self) -> Tensor:
        """Centre frequency (Hz) of each power-spectrum bin, (n_fft // 2,): 0 .. Nyquist excluded."""
        return torch.arange(self.padded_window_size // 2) * (self.sample_frequency / self.padded_window_size)

    def frame_lengths(self, lengths: Tensor) -> Tensor:
        """Number of frames Kaldi produces for utterances of `lengths` samples, (B,) int64."""
        lengths = torch.as_tensor(lengths, dtype=torch.long)
        if self.snip_edges:
            return torch.where(lengths >= self.window_size,
                               1 + (lengths - self.window_size).div(self.window_shift, rounding_mode="floor"),
                               torch.zeros_like(lengths))
        return (lengths + self.window_shift // 2).div(self.window_shift, rounding_mode="floor")

    def _frames(self, waves: Tensor, lengths: Tensor, num_frames: int) -> Tensor:
        """Cut (B, S) waveforms into (B, num_frames, window_size) frames, each within its own utterance."""
        if self.snip_edges:  # every valid frame lies inside [0, length); a strided view suffices
            if waves.shape[1] < self.window_size:
                return waves.new_zeros(waves.shape[0], 0, self.window_size)
            return waves.unfold(1, self.window_size, self.window_shift)[:, :num_frames]
        # Frames centred on t * shift + shift / 2, reflecting at both ends of each utterance
        # (Kaldi's ExtractWindow: -1 -> 0, L -> L - 1, repeated for very short signals).
        start = (torch.arange(num_frames, device=waves.device) * self.window_shift
                 - (self.window_size // 2 - self.window_shift // 2))
        index = start[:, None] + torch.arange(self.window_size, device=waves.device)  # (T, W)
        length = lengths.clamp(min=1).to(waves.device)[:, None, None]                # (B, 1, 1)
        index = torch.remainder(index[None], 2 * length)
        index = torch.where(index >= length, 2 * length - 1 - index, index)           # (B, T, W)
        return torch.gather(waves, 1, index.reshape(waves.shape[0], -1)).view(*index.shape)

    def _log_energy(self, frames: Tensor) -> Tensor:
        energy = torch.linalg.vecdot(frames, frames).clamp(min=_EPSILON).log()
        if self.energy_floor > 0.0:
            energy = energy.clamp(min=math.log(self.energy_floor))
        return energy

    def _power_spectrum(self, frames: Tensor) -> tuple[Tensor, Tensor]:
        """Frames (..., W) on the int16 scale -> (|FFT|^2 (..., n_fft // 2) without the Nyquist bin, log energy (...))."""
        if self.dither != 0.0:
            frames = frames + self.dither * torch.randn_like(frames)
        if self.remove_dc_offset:
            frames = frames - frames.mean(-1, keepdim=True)
        if self.raw_energy:
            energy = self._log_energy(frames)
        if self.preemphasis_coefficient != 0.0:
            previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
            frames = frames - self.preemphasis_coefficient * previous
        frames = frames * self.window
        if not self.raw_energy:
            energy = self._log_energy(frames)
        spectrum = torch.fft.rfft(frames, n=self.padded_window_size)[..., :-1]
        return spectrum.real.square() + spectrum.imag.square(), energy

    def _frame_features(self, frames: Tensor, filters: Tensor) -> Tensor:
        """Frames (..., W) on the int16 scale, filter_weights() -> features (..., feature_dim); every step is
        per frame."""
        raise NotImplementedError

    def forward(self, waves: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """waves: (B, S) float in [-1, 1], lengths: (B,) -> (feats (B, T, D) zero-padded, frame_lengths (B,))."""
        if waves.dim() != 2 or torch.is_complex(waves) or not torch.is_floating_point(waves):
            raise ValueError(f"expected float waveforms of shape (batch, samples) scaled to [-1, 1], "
                             f"got {waves.dtype} of shape {tuple(waves.shape)}")
        lengths = torch.as_tensor(lengths, dtype=torch.long).cpu()
        if lengths.shape != waves.shape[:1] or (lengths > waves.shape[1]).any() or (lengths < 0).any():
            raise ValueError(f"lengths {lengths.tolist()} do not fit waveforms of shape {tuple(waves.shape)}")
        frame_lengths = self.frame_lengths(lengths)
        num_frames = int(frame_lengths.max()) if len(frame_lengths) else 0
        valid = lengths_to_mask(frame_lengths, num_frames).to(waves.device)[..., None]  # (B, T, 1)
        with torch.autocast(waves.device.type, enabled=False):  # features in float32 even under AMP
            waves = waves.float() * self.input_scale
            filters = self.filter_weights()
            if waves.device.type == "cpu" and self.cpu_chunk_frames:
                feats = self._features_in_chunks(waves, lengths, frame_lengths, num_frames, filters)
            else:
                feats = self._frame_features(self._frames(waves, lengths, num_frames), filters)
                feats = feats.masked_fill(~valid, 0.0)
            if self.subtract_mean:
                mean = feats.sum(1, keepdim=True) / frame_lengths.to(feats.device).clamp(min=1)[:, None, None]
                feats = (feats - mean).masked_fill(~valid, 0.0)
        return feats, frame_lengths.to(waves.device)

    def _features_in_chunks(self, waves: Tensor, lengths: Tensor, frame_lengths: Tensor, num_frames: int,
                            filters: Tensor) -> Tensor:
        """CPU path: each utterance's frames in pieces of `cpu_chunk_frames`, so that the intermediate
        tensors stay in cache and no padded frame is computed (a big batch at once spills out of the
        CPU caches and runs up to twice slower than torchaudio's one-utterance-at-a-time)."""
        feats = waves.new_zeros(waves.shape[0], num_frames, self.feature_dim)
        for b, (length, count) in enumerate(zip(lengths.tolist(), frame_lengths.tolist())):
            if count == 0:
                continue
            frames = self._frames(waves[b:b + 1, :length], lengths[b:b + 1], count)[0]  # (count, W)
            feats[b, :count] = torch.cat([self._frame_features(piece, filters)
                                          for piece in frames.split(self.cpu_chunk_frames)])
        return feats


class _KaldiFrontend(SpectralFrontend):
    """The mel filterbank shared by `Fbank` and `Mfcc`, on top of Kaldi's power spectrum."""

    def __init__(self, options: MelOptions, *, input_scale: float, trainable: bool):
        o = options
        super().__init__(o, input_scale=input_scale, energy_floor=o.energy_floor, raw_energy=o.raw_energy)
        self.num_mel_bins = o.num_mel_bins
        self.use_energy = o.use_energy
        self.htk_compat = o.htk_compat
        try:
            banks, _ = get_mel_banks(o.num_mel_bins, self.padded_window_size, self.sample_frequency, o.low_freq,
                                     o.high_freq, o.vtln_low, o.vtln_high, o.vtln_warp)
        except AssertionError as e:
            raise ValueError(f"bad mel filterbank options: {e}") from None
        # (num_mel_bins, n_fft // 2): Kaldi's triangles; the Nyquist bin has weight 0 and is left out.
        self.mel_weights = nn.Parameter(banks.float(), requires_grad=trainable)

    @property
    def trainable(self) -> bool:
        return self.mel_weights.requires_grad

    def kaldi_options(self) -> dict:
        """Keyword arguments that make `torchaudio.compliance.kaldi.fbank/mfcc` compute these features
        (on `waveform * input_scale`)."""
        return asdict(self.options)

    def extra_repr(self) -> str:
        o = self.options
        return (f"sample_frequency={o.sample_frequency}, frame_length={o.frame_length}, "
                f"frame_shift={o.frame_shift}, num_mel_bins={self.num_mel_bins}, feature_dim={self.feature_dim}, "
                f"dither={self.dither}, trainable={self.trainable}")

    def filter_weights(self) -> Tensor:
        """The mel filters applied to the power spectrum, (num_mel_bins, n_fft // 2): |mel_weights|."""
        return self.mel_weights.abs()

    def _log_mel(self, power: Tensor, filters: Tensor) -> Tensor:
        return torch.matmul(power, filters.t()).clamp(min=_EPSILON).log()


class Fbank(_KaldiFrontend):
    """Kaldi log mel filterbank (`compute-fbank-feats`), batched. Output dim `num_mel_bins (+1 with use_energy)`.

    forward(waves: (B, S) float in [-1, 1], lengths: (B,)) -> (feats (B, T, D), frame_lengths (B,))
    `options`: any field of `FbankOptions`, as keywords.
    """

    def __init__(self, *, input_scale: float = 32768.0, trainable: bool = False, **options):
        options = FbankOptions(**options)
        super().__init__(options, input_scale=input_scale, trainable=trainable)
        self.use_log_fbank = options.use_log_fbank
        self.use_power = options.use_power

    @property
    def feature_dim(self) -> int:
        return self.num_mel_bins + int(self.use_energy)

    def _frame_features(self, frames: Tensor, filters: Tensor) -> Tensor:
        power, energy = self._power_spectrum(frames)
        if not self.use_power:
            power = power.sqrt()
        feats = self._log_mel(power, filters) if self.use_log_fbank else torch.matmul(power, filters.t())
        if self.use_energy:
            parts = (feats, energy[..., None]) if self.htk_compat else (energy[..., None], feats)
            feats = torch.cat(parts, dim=-1)
        return feats


class Mfcc(_KaldiFrontend):
    """Kaldi MFCC (`compute-mfcc-feats`), batched. Output dim `num_ceps`.

    With `use_energy` (Kaldi's default) C0 is replaced by the log frame energy; with `htk_compat`
    C0/energy moves to the last column.
    forward(waves: (B, S) float in [-1, 1], lengths: (B,)) -> (feats (B, T, num_ceps), frame_lengths (B,))
    `options`: any field of `MfccOptions`, as keywords.
    """

    def __init__(self, *, input_scale: float = 32768.0, trainable: bool = False, **options):
        options = MfccOptions(**options)
        num_mel_bins, num_ceps, cepstral_lifter = options.num_mel_bins, options.num_ceps, options.cepstral_lifter
        if not 0 < num_ceps <= num_mel_bins:
            raise ValueError(f"num_ceps {num_ceps} must be between 1 and num_mel_bins {num_mel_bins}")
        super().__init__(options, input_scale=input_scale, trainable=trainable)
        self.num_ceps = num_ceps
        # Kaldi's DCT: orthonormal DCT-II whose C0 row is sqrt(1/N); (num_mel_bins, num_ceps).
        dct = torchaudio.functional.create_dct(num_mel_bins, num_mel_bins, "ortho")
        dct[:, 0] = math.sqrt(1.0 / num_mel_bins)
        self.register_buffer("dct", dct[:, :num_ceps].contiguous(), persistent=False)
        lifter = (1.0 + 0.5 * cepstral_lifter * torch.sin(math.pi * torch.arange(num_ceps) / cepstral_lifter)
                  if cepstral_lifter != 0.0 else torch.ones(num_ceps))
        self.register_buffer("lifter", lifter.float(), persistent=False)

    @property
    def feature_dim(self) -> int:
        return self.num_ceps

    def _frame_features(self, frames: Tensor, filters: Tensor) -> Tensor:
        power, energy = self._power_spectrum(frames)
        feats = torch.matmul(self._log_mel(power, filters), self.dct) * self.lifter  # (..., num_ceps)
        if self.use_energy:
            feats = torch.cat([energy[..., None], feats[..., 1:]], dim=-1)
        if self.htk_compat:
            c0 = feats[..., :1] if self.use_energy else feats[..., :1] * math.sqrt(2)
            feats = torch.cat([feats[..., 1:], c0], dim=-1)
        return feats
