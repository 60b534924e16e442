"""A small ctypes wrapper around the espeak-ng shared library shipped by `espeakng-loader`.

espeak-ng keeps global state: one synthesizer per process, and its waveform generator carries state
from one utterance to the next (the same call twice in a row gives slightly different audio). The
library is therefore initialised once per process, and callers that need reproducible audio
synthesize a fixed sequence of utterances in a fresh process.

    synth = EspeakSynthesizer()
    out = synth.synthesize("Bring the yellow wagon.", voice="en-us+m3", rate=170)
    out.samples        # (T,) int16 at 22050 Hz
    out.phonemes[0]    # PhonemeEvent(symbol="b", start=..., end=..., word=0)
    out.words[0]       # Word(text="Bring", start=..., end=...)
"""
from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass

import espeakng_loader
import numpy as np

SAMPLE_RATE = 22050

# Values from espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
_PARAM_RANGE = 4
_PHONEMES_SEPARATOR_SHIFT = 8  # espeak_TextToPhonemes: bits 8-23 hold a separator character

# Below espeak's default of 100, so that loud voice variants rarely clip inside the synthesizer.
_VOLUME = 60
PAUSE_SYMBOLS = frozenset({"_", "_:"})
_STRESS_MARKS = "',%="
_WORD_PUNCTUATION = ".,;:?!\"()"

# Documented ranges of espeak_SetParameter (rate in words per minute, the others in 0..100).
RATE_RANGE = (80, 450)
PITCH_RANGE = (0, 100)


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """`espeak_EVENT` from speak_lib.h."""
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                  ctypes.POINTER(_Event))


class EspeakError(RuntimeError):
    """espeak-ng failed, or its output cannot be aligned with the words of the text."""


@dataclass(frozen=True)
class PhonemeEvent:
    """One espeak phoneme: mnemonic with stress marks (e.g. `'A@`), samples [start, end) at 22050 Hz.

    `word` indexes `Synthesis.words`, or is None for pauses (`_`, `_:`).
    """
    symbol: str
    start: int
    end: int
    word: int | None


@dataclass(frozen=True)
class Word:
    """One whitespace-separated word of the text, surrounding punctuation removed.

    [start, end) spans its phonemes at 22050 Hz.
    """
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Synthesis:
    """Audio and time-aligned phonemes and words of one `synthesize` call.

    samples: (T,) int16 at `sample_rate`. Phonemes are contiguous: each ends where the next starts
    and the last ends at T; samples before the first phoneme (usually a few hundred) belong to none.
    """
    text: str
    voice: str
    samples: np.ndarray
    sample_rate: int
    phonemes: tuple[PhonemeEvent, ...]
    words: tuple[Word, ...]

    def float_samples(self) -> np.ndarray:
        """(T,) float32 in [-1, 1)."""
        return self.samples.astype(np.float32) / 32768.0


def data_path() -> str:
    """The espeak-ng-data directory shipped with espeakng-loader."""
    return espeakng_loader.get_data_path()


def voice_variants() -> tuple[str, ...]:
    """Names of the voice variants (`m3`, `f2`, `Annie`, ...) usable after `+` in a voice name."""
    return tuple(sorted(os.listdir(os.path.join(data_path(), "voices", "!v"))))


def espeak_version() -> str:
    """Version of the bundled espeak-ng library, e.g. `1.52.0` (does not initialise it)."""
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Info.argtypes = [ctypes.c_void_p]
    lib.espeak_Info.restype = ctypes.c_char_p
    return lib.espeak_Info(None).decode()


def strip_stress(symbol: str) -> str:
    """`'A@` -> `A@`, `,aU` -> `aU`."""
    return symbol.lstrip(_STRESS_MARKS)


def text_words(text: str) -> list[tuple[str, int]]:
    """(word, character offset) of each whitespace-separated token, surrounding punctuation removed."""
    out = []
    offset = 0
    for token in text.split():
        offset = text.index(token, offset)
        word = token.strip(_WORD_PUNCTUATION)
        if word:
            out.append((word, offset + token.index(word)))
        offset += len(token)
    return out


class EspeakSynthesizer:
    """Process-wide espeak-ng synthesizer; every instance in a process shares one library state."""

    _lock = threading.RLock()
    _lib: ctypes.CDLL | None = None
    _callback = None  # keeps the ctypes callback alive for as long as the library may call it
    _chunks: list[np.ndarray] = []
    _events: list[tuple[int, int, int, bytes | int]] = []

    def __init__(self) -> None:
        with self._lock:
            if EspeakSynthesizer._lib is None:
                EspeakSynthesizer._lib = self._load()
        self._variants = set(voice_variants())

    @classmethod
    def _load(cls) -> ctypes.CDLL:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path().encode(),
                                     _INITIALIZE_PHONEME_EVENTS)
        if rate != SAMPLE_RATE:
            raise EspeakError(f"espeak_Initialize returned {rate}, expected sample rate {SAMPLE_RATE}")
        cls._callback = _SynthCallback(cls._on_audio)
        lib.espeak_SetSynthCallback(cls._callback)
        return lib

    @classmethod
    def _on_audio(cls, wav, n: int, events) -> int:
        if wav and n > 0:
            cls._chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            e = events[i]
            if e.type == _EVENT_PHONEME:
                cls._events.append((e.type, e.text_position, e.sample, e.id.string))
            elif e.type == _EVENT_WORD:
                cls._events.append((e.type, e.text_position, e.sample, e.id.number))
            i += 1
        return 0

    def set_voice(self, voice: str) -> None:
        """Select `language[+variant]`, e.g. `en-us+m3`; raises ValueError for an unknown name.

        espeak silently ignores an unknown variant, so the variant is checked against the data dir.
        """
        language, _, variant = voice.partition("+")
        if variant and variant not in self._variants:
            raise ValueError(f"unknown espeak voice variant {variant!r} in voice {voice!r}; "
                             f"known variants: {' '.join(sorted(self._variants))}")
        with self._lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"unknown espeak voice {voice!r}: no language {language!r} in "
                                 f"{data_path()}/lang")

    def phoneme_names(self, text: str, voice: str) -> list[str]:
        """espeak's phoneme mnemonics for `text` without synthesizing it (no timing)."""
        with self._lock:
            self.set_voice(voice)
            ptr = ctypes.c_char_p(text.encode("utf-8"))
            names: list[str] = []
            while ptr.value:
                out = self._lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8,
                                                      ord(" ") << _PHONEMES_SEPARATOR_SHIFT)
                names += (out or b"").decode().split()
            return names

    def synthesize(self, text: str, voice: str = "en-us", rate: int = 175, pitch: int = 50,
                   pitch_range: int = 50, seed: int = 0) -> Synthesis:
        """Speak `text`; return 22050 Hz int16 samples with time-aligned phonemes and words.

        rate: words per minute in RATE_RANGE; pitch, pitch_range: 0..100 (espeak's default 50);
        seed: espeak's noise generator. Raises ValueError for a bad voice or parameter, EspeakError
        when espeak's phonemes cannot be attributed to the words of `text`.
        """
        if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
            raise ValueError(f"rate {rate} outside {RATE_RANGE} words per minute")
        for name, value in (("pitch", pitch), ("pitch_range", pitch_range)):
            if not PITCH_RANGE[0] <= value <= PITCH_RANGE[1]:
                raise ValueError(f"{name} {value} outside {PITCH_RANGE}")
        if not text_words(text):
            raise ValueError(f"no words to synthesize in {text!r}")
        with self._lock:
            self.set_voice(voice)
            lib = self._lib
            for param, value in ((_PARAM_RATE, rate), (_PARAM_PITCH, pitch), (_PARAM_RANGE, pitch_range),
                                 (_PARAM_VOLUME, _VOLUME)):
                lib.espeak_SetParameter(param, int(value), 0)
            lib.espeak_ng_SetRandSeed(seed)
            self._chunks.clear()
            self._events.clear()
            data = ctypes.create_string_buffer(text.encode("utf-8"))
            status = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            lib.espeak_Synchronize()
            if status != 0:
                raise EspeakError(f"espeak_Synth failed with status {status} for text {text!r}")
            samples = (np.concatenate(self._chunks) if self._chunks
                       else np.zeros(0, dtype=np.int16)).astype(np.int16)
            events = list(self._events)
            return self._assemble(text, voice, samples, events)

    def _assemble(self, text: str, voice: str, samples: np.ndarray, events: list) -> Synthesis:
        """Contiguous phoneme segments, each attributed to a word of `text`.

        espeak reports one word event per dictionary entry, and some entries span two words
        (`in the`, `out of`); the phonemes of such a group are split between its words by the
        number of phonemes espeak gives each word on its own.
        """
        n = len(samples)
        where = f"voice {voice!r}, text {text!r}"
        words = text_words(text)
        word_at_offset = {offset: i for i, (_, offset) in enumerate(words)}
        group_of_position: dict[int, int] = {}   # espeak text position (1-based) -> first word
        for kind, pos, _, _ in events:
            if kind == _EVENT_WORD and pos not in group_of_position:
                if pos - 1 not in word_at_offset:
                    raise EspeakError(f"espeak word at character {pos} does not start a word ({where})")
                group_of_position[pos] = word_at_offset[pos - 1]
        firsts = sorted(group_of_position.values())
        if not firsts or firsts[0] != 0:
            raise EspeakError(f"espeak reported no word event for {words[0][0]!r} ({where})")
        group_words = {first: list(range(first, nxt)) for first, nxt in zip(firsts, firsts[1:] + [len(words)])}

        raw = [(pos, sample, ident.decode("ascii")) for kind, pos, sample, ident in events
               if kind == _EVENT_PHONEME]
        phonemes: list[PhonemeEvent] = []
        for i, (pos, sample, symbol) in enumerate(raw):
            end = raw[i + 1][1] if i + 1 < len(raw) else n
            group = group_of_position.get(pos)
            if group is None and strip_stress(symbol) not in PAUSE_SYMBOLS:
                raise EspeakError(f"espeak phoneme {symbol!r} at sample {sample} belongs to no word "
                                  f"({where})")
            phonemes.append(PhonemeEvent(symbol, min(sample, n), min(end, n), group))

        for first, members in group_words.items():
            if len(members) > 1:
                phonemes = self._split_group(phonemes, first, members, words, voice, where)
        spans: dict[int, list[int]] = {}
        for p in phonemes:
            if p.word is not None:
                spans.setdefault(p.word, [p.start, p.end])[1] = p.end
        missing = [words[i][0] for i in range(len(words)) if i not in spans]
        if missing:
            raise EspeakError(f"espeak gave no phonemes to the words {missing} ({where})")
        out_words = tuple(Word(w, *spans[i]) for i, (w, _) in enumerate(words))
        return Synthesis(text, voice, samples, SAMPLE_RATE, tuple(phonemes), out_words)

    def _split_group(self, phonemes: list[PhonemeEvent], first: int, members: list[int],
                     words: list[tuple[str, int]], voice: str, where: str) -> list[PhonemeEvent]:
        """Give the phonemes espeak attributed to word `first` to the words `members` in turn."""
        idx = [i for i, p in enumerate(phonemes) if p.word == first]
        counts = [len(self.phoneme_names(words[m][0], voice)) for m in members[:-1]]
        if sum(counts) >= len(idx):
            raise EspeakError(f"cannot split espeak's phonemes {[phonemes[i].symbol for i in idx]} "
                              f"between the words {[words[m][0] for m in members]} ({where})")
        owners = [m for m, c in zip(members, counts) for _ in range(c)]
        owners += [members[-1]] * (len(idx) - len(owners))
        out = list(phonemes)
        for i, owner in zip(idx, owners):
            out[i] = PhonemeEvent(out[i].symbol, out[i].start, out[i].end, owner)
        return out
