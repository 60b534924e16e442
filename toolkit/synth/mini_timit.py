"""The embedded synthetic corpus "mini TIMIT": TIMIT's LDC layout, spoken by espeak-ng.

For users without a TIMIT licence (or internet, or GPU): the TIMIT recipe runs unchanged on it.

    <out>/TRAIN|TEST/DR<n>/<SPEAKER>/<UTT>.WAV|PHN|WRD|TXT     (or all lower case)
    <out>/DOC/SPEAKERS.TXT   speaker, sex, region, part, role and voice settings
    <out>/DOC/PROMPTS.TXT    every prompt with its sentence id, as in TIMIT's PROMPTS.TXT

WAV files are NIST SPHERE, 16 kHz, 16 bit; PHN/WRD lines are `<start> <end> <label>` in samples and
TXT is `0 <nsamples> <text>`. Each speaker reads SA1, SA2, 5 SX sentences (each SX text is read by
about 7 speakers of the same part) and 3 SI sentences read by nobody else; TRAIN and TEST texts are
disjoint except SA. TEST speakers carry ids from the real dev and core-test lists (plus a few in
neither list, which TIMIT data preparation must ignore); TRAIN ids never collide with those lists.

Every speaker is a distinct voice (espeak variant of the speaker's sex, accent from the dialect
region, pitch, pitch range, speaking rate) recorded through its own channel (level, spectral tilt,
background noise). Generation is seeded: the same seed gives byte-identical files, whatever n_jobs.
espeak-ng carries state from one utterance to the next, so each speaker is synthesized in a fresh
process, forked from a server that never synthesized anything.
"""
from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import shutil
import time
import zlib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio
from tqdm import tqdm

from toolkit.corpora.timit_protocol import CORE_TEST_SPEAKERS, DEV_SPEAKERS, PHONES_61
from toolkit.synth.espeak import SAMPLE_RATE as ESPEAK_RATE
from toolkit.synth.espeak import (EspeakError, EspeakSynthesizer, PhonemeEvent, Synthesis, Word,
                                  espeak_version)
from toolkit.synth.espeak_timit_phones import (PAUSE, SILENCE, PhoneSegment, align_timit_phones,
                                               resample_segments)
from toolkit.synth.sentences import SA_SENTENCES, generate_sentences
from toolkit.utils.atomic import write_json

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1   # bump when the same settings would produce different files
SAMPLE_RATE = 16000
STAMP_NAME = ".mini_timit.json"
N_REGIONS = 8
N_SX, N_SI = 5, 3       # per speaker, besides SA1 and SA2
SX_READERS = 7          # speakers reading each SX sentence, as in TIMIT
FIRST_SX, FIRST_SI = 3, 453   # TIMIT numbers SX3..SX452 and SI453..SI2342

# espeak voice variants that sound like one adult speaker (no echo, robot or whisper effects) and
# hardly clip at our volume (a few samples per hour of audio).
MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "Alex", "Gene", "Mike", "adam",
                 "benjamin", "david", "edward", "john", "pedro", "robert", "quincy", "paul", "michel",
                 "miguel", "travis", "victor", "norbert", "max", "rob", "Mario", "Michael", "antonio",
                 "Denis", "Diogo", "Henrique", "gustave", "marcelo", "grandpa", "mike2", "Reed", "klatt",
                 "klatt3")
FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5", "Alicia", "Andrea", "Annie", "anika", "aunty",
                   "belinda", "linda", "steph", "steph2", "steph3", "grandma")

# TIMIT's dialect regions -> espeak accents: New England and New York City are (partly) non-rhotic,
# the "army brat" region DR8 mixes in British RP.
REGION_ACCENTS = {1: ("en-us", "en-us-nyc"), 2: ("en-us",), 3: ("en-us",), 4: ("en-us",),
                  5: ("en-us",), 6: ("en-us-nyc",), 7: ("en-us",), 8: ("en-us", "en-gb-x-rp")}

# Ranges the per-speaker voice and channel settings are drawn from.
PITCH = (30, 70)            # espeak pitch, 0..100
PITCH_RANGE = (30, 80)      # espeak intonation range, 0..100
RATE_WPM = (150, 195)       # speaking rate, words per minute
LEVEL_DBFS = (-30.0, -20.0) # speech RMS level
TILT = (-0.4, 0.6)          # y[n] = x[n] + tilt * x[n-1]: >0 duller, <0 brighter
SNR_DB = (28.0, 42.0)       # background noise below the speech
NOISE_COLOUR = (0.0, 0.95)  # one-pole low-pass on white noise
PEAK_MAX = 0.9              # speech peaks stay below -1 dBFS
LEAD_S, TRAIL_S = (0.10, 0.22), (0.12, 0.26)   # silence before and after the speech


@dataclass(frozen=True)
class CorpusSize:
    """Number of speakers: TRAIN, and TEST ones from the dev list, the core-test list and neither."""
    train: int
    dev: int
    core_test: int
    other_test: int


SIZES = {
    "default": CorpusSize(train=48, dev=8, core_test=8, other_test=2),
    "tiny": CorpusSize(train=8, dev=2, core_test=2, other_test=1),
}


@dataclass(frozen=True)
class Voice:
    """How one speaker sounds: espeak voice and parameters, and the recording channel."""
    variant: str
    accent: str
    pitch: int
    pitch_range: int
    rate: int
    level_dbfs: float
    tilt: float
    snr_db: float
    noise_colour: float

    @property
    def espeak_name(self) -> str:
        return f"{self.accent}+{self.variant}"


@dataclass(frozen=True)
class Prompt:
    """One sentence reading: TIMIT utterance id (`sa1`, `sx12`, `si460`) and text."""
    id: str
    text: str


@dataclass(frozen=True)
class Speaker:
    """id in TIMIT form (`fadg0`), part `TRAIN`/`TEST`, role `train`/`dev`/`core`/`other`."""
    id: str
    region: int
    part: str
    role: str
    voice: Voice
    prompts: tuple[Prompt, ...]

    @property
    def sex(self) -> str:
        return self.id[0]


@dataclass(frozen=True)
class Recording:
    """One synthesized utterance at 16 kHz: samples (T,) int16, phone and word segments, and espeak's
    own phonemes (mnemonics with stress marks and word index; sample times at 22050 Hz)."""
    samples: np.ndarray
    phones: list[PhoneSegment]
    words: list[tuple[int, int, str]]
    phonemes: tuple[PhonemeEvent, ...]


@dataclass(frozen=True)
class CorpusSummary:
    """What `make_mini_timit` produced (or found already complete)."""
    out_dir: str
    speakers: int
    utterances: int
    seconds: float
    phone_counts: dict[str, int]
    wall_seconds: float
    generated: bool   # False when the directory was already complete

    @property
    def missing_phones(self) -> list[str]:
        """TIMIT symbols that occur nowhere in the corpus."""
        return sorted(set(PHONES_61) - set(self.phone_counts))


def corpus_size(size: str | CorpusSize) -> CorpusSize:
    """A size by name (`default`, `tiny`) or as given."""
    if isinstance(size, CorpusSize):
        return size
    if size not in SIZES:
        raise ValueError(f"unknown mini TIMIT size {size!r}; choose one of {', '.join(SIZES)}")
    return SIZES[size]


def plan_corpus(size: str | CorpusSize = "default", seed: int = 0) -> list[Speaker]:
    """Speakers, voices and prompts of a corpus, deterministic in (size, seed); TRAIN first.

    Core-test speakers sit in their real TIMIT dialect region; the protocol does not give the
    regions of dev speakers, so they (and the other TEST speakers) are spread round-robin.
    """
    size = corpus_size(size)
    n_core_max = len(CORE_TEST_SPEAKERS)
    if size.core_test > n_core_max or size.dev > len(DEV_SPEAKERS):
        raise ValueError(f"{size}: at most {len(DEV_SPEAKERS)} dev and {n_core_max} core-test speakers")
    rng = seeded_rng(seed, "plan")
    dev = _pick_balanced(DEV_SPEAKERS, size.dev)
    core = _core_speakers(size.core_test)
    taken = set(DEV_SPEAKERS) | set(CORE_TEST_SPEAKERS)
    train = _new_ids(size.train, taken, rng)
    other = _new_ids(size.other_test, taken | set(train), rng)

    train_regions = rng.permutation([r % N_REGIONS + 1 for r in range(size.train)]).tolist()
    roles = ([(s, "TRAIN", "train", region) for s, region in zip(train, train_regions)]
             + [(s, "TEST", "dev", i % N_REGIONS + 1) for i, s in enumerate(dev)]
             + [(s, "TEST", "core", CORE_TEST_SPEAKERS.index(s) // 3 + 1) for s in core]
             + [(s, "TEST", "other", (i + 3) % N_REGIONS + 1) for i, s in enumerate(other)])

    n_test = size.dev + size.core_test + size.other_test
    pool_train = max(N_SX, math.ceil(size.train * N_SX / SX_READERS)) if size.train else 0
    pool_test = max(N_SX, math.ceil(n_test * N_SX / SX_READERS)) if n_test else 0
    texts = generate_sentences(pool_train + pool_test + N_SI * len(roles), seed)
    sx = [Prompt(f"sx{FIRST_SX + i}", t) for i, t in enumerate(texts[:pool_train + pool_test])]
    si = [Prompt(f"si{FIRST_SI + i}", t) for i, t in enumerate(texts[pool_train + pool_test:])]
    sx_pool = {"TRAIN": sx[:pool_train], "TEST": sx[pool_train:]}

    variants = {"m": _cycle(MALE_VARIANTS, rng), "f": _cycle(FEMALE_VARIANTS, rng)}
    used_voices: set[tuple] = set()
    speakers = []
    index_in_part: Counter[str] = Counter()
    for n, (spk, part, role, region) in enumerate(roles):
        k = index_in_part[part]
        index_in_part[part] += 1
        pool = sx_pool[part]
        prompts = ([Prompt(f"sa{i + 1}", t) for i, t in enumerate(SA_SENTENCES)]
                   + [pool[(N_SX * k + j) % len(pool)] for j in range(N_SX)]
                   + si[N_SI * n:N_SI * (n + 1)])
        voice = _draw_voice(next(variants[spk[0]]), REGION_ACCENTS[region], rng, used_voices)
        speakers.append(Speaker(spk, region, part, role, voice, tuple(prompts)))
    return speakers


def render_utterance(synth: EspeakSynthesizer, speaker: Speaker, prompt: Prompt, seed: int) -> Recording:
    """Synthesize one prompt in the speaker's voice and channel, with TIMIT phone and word labels."""
    rng = seeded_rng(seed, speaker.id, prompt.id)
    v = speaker.voice
    rate = int(round(v.rate * rng.uniform(0.95, 1.05)))
    pitch = int(np.clip(v.pitch + rng.integers(-3, 4), 0, 100))
    lead, trail = (round(rng.uniform(*span) * ESPEAK_RATE) for span in (LEAD_S, TRAIL_S))
    try:
        syn = synth.synthesize(prompt.text, voice=v.espeak_name, rate=rate, pitch=pitch,
                               pitch_range=v.pitch_range, seed=int(rng.integers(2 ** 31)))
        syn = _pad(syn, lead, trail)
        segments = align_timit_phones(syn)
    except (ValueError, EspeakError) as e:
        raise type(e)(f"utterance {speaker.id}_{prompt.id}: {e}") from None
    clean = torchaudio.functional.resample(torch.from_numpy(syn.float_samples()), ESPEAK_RATE, SAMPLE_RATE)
    clean = clean.numpy().astype(np.float64)
    phones = resample_segments(segments, ESPEAK_RATE, SAMPLE_RATE, len(clean))
    words = []
    for i, word in enumerate(syn.words):
        own = [p for p in phones if p.word == i]
        if not own:
            raise ValueError(f"{speaker.id}_{prompt.id}: word {word.text!r} lost all its phones")
        words.append((own[0].start, own[-1].end, word.text.lower()))
    speech = np.zeros(len(clean), dtype=bool)
    for p in phones:
        if p.label not in (SILENCE, PAUSE):
            speech[p.start:p.end] = True
    return Recording(_channel(clean, speech, v, rng), phones, words, syn.phonemes)


def make_mini_timit(out_dir: str | os.PathLike, size: str | CorpusSize = "default", seed: int = 0,
                    lowercase: bool = False, n_jobs: int = 1) -> CorpusSummary:
    """Generate the corpus into `out_dir`; do nothing if it is already complete for these settings.

    The corpus is written next to `out_dir` (`.<name>.partial`) and renamed into place when complete,
    so an interrupted run never leaves a half corpus behind. Raises ValueError if `out_dir` holds
    anything else (including a mini TIMIT made with other settings). Workers start through a fork
    server, so a script calling this needs the usual `if __name__ == "__main__":` guard.
    """
    start = time.time()
    out = Path(out_dir)
    settings = {"generator_version": GENERATOR_VERSION, "espeak_ng": espeak_version(),
                "size": asdict(corpus_size(size)), "seed": seed, "lowercase": lowercase}
    done = completed_corpus(out, settings)
    if done is not None:
        log.info("%s already holds mini TIMIT with these settings (%d speakers, %d utterances); "
                 "nothing to do", out, done["speakers"], done["utterances"])
        return CorpusSummary(str(out), done["speakers"], done["utterances"], done["seconds"],
                             done["phone_counts"], time.time() - start, generated=False)
    speakers = plan_corpus(size, seed)
    staging = out.parent / f".{out.name}.partial"
    if staging.exists():  # left by an interrupted run; the name marks it as ours
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    log.info("synthesizing %d speakers (%s) with %d jobs into %s", len(speakers),
             ", ".join(f"{n} {r}" for r, n in Counter(s.role for s in speakers).items()), n_jobs, out)

    results = render_speakers(_render_speaker, speakers, (seed, str(staging), lowercase), n_jobs)
    phone_counts = Counter()
    for r in results:
        phone_counts.update(r["phones"])
    n_utts = sum(r["utterances"] for r in results)
    seconds = sum(r["samples"] for r in results) / SAMPLE_RATE
    _write_docs(staging, speakers, lowercase)
    summary = {"speakers": len(speakers), "utterances": n_utts, "seconds": round(seconds, 3),
               "phone_counts": dict(sorted(phone_counts.items()))}
    write_json(staging / STAMP_NAME, {"settings": settings, **summary})
    os.chmod(staging / STAMP_NAME, 0o644)
    if out.exists():
        out.rmdir()  # _completed() made sure it is empty
    os.replace(staging, out)
    result = CorpusSummary(str(out), len(speakers), n_utts, seconds, dict(phone_counts),
                           time.time() - start, generated=True)
    log.info("wrote %d speakers, %d utterances, %.2f hours of audio in %.1f s (%.0fx real time)",
             result.speakers, n_utts, seconds / 3600, result.wall_seconds, seconds / result.wall_seconds)
    if result.missing_phones:
        log.info("TIMIT phones that espeak never produces here: %s", " ".join(result.missing_phones))
    return result


def completed_corpus(out: Path, settings: dict, stamp_name: str = STAMP_NAME,
                     what: str = "mini TIMIT") -> dict | None:
    """The stamp (`out/<stamp_name>`) of a complete corpus made with `settings`, None if `out` is
    absent or empty; ValueError if `out` holds anything else."""
    stamp = out / stamp_name
    if stamp.is_file():
        done = json.loads(stamp.read_text())
        if done.get("settings") == settings:
            return done
        raise ValueError(f"{out} holds a {what} made with settings {done.get('settings')}, not "
                         f"{settings}; remove it or choose another output directory")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} exists and is not a complete {what} corpus; refusing to write "
                         f"into it (remove it or choose another output directory)")
    return None


def render_speakers(worker, speakers: list[Speaker], args: tuple, n_jobs: int) -> list:
    """`worker(speaker, *args)` for every speaker, each in a fresh process (see module docstring);
    the workers' results in completion order. `worker` must be a module-level function."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload([__name__, worker.__module__])
    results = []
    with ProcessPoolExecutor(max_workers=max(1, n_jobs), mp_context=ctx, max_tasks_per_child=1) as pool:
        futures = [pool.submit(worker, spk, *args) for spk in speakers]
        for future in tqdm(as_completed(futures), total=len(futures), desc="speakers", disable=None):
            results.append(future.result())
    return results


def _render_speaker(speaker: Speaker, seed: int, staging: str, lowercase: bool) -> dict:
    """Worker: synthesize and write all utterances of one speaker; returns counts."""
    torch.set_num_threads(1)  # identical float results whatever the machine's core count
    synth = EspeakSynthesizer()
    case = str.lower if lowercase else str.upper
    spk_dir = Path(staging, case(speaker.part), case(f"dr{speaker.region}"), case(speaker.id))
    spk_dir.mkdir(parents=True, exist_ok=True)
    phones: Counter[str] = Counter()
    n_samples = 0
    for prompt in speaker.prompts:
        rec = render_utterance(synth, speaker, prompt, seed)
        stem = spk_dir / case(prompt.id)
        n = len(rec.samples)
        sf.write(f"{stem}.{case('wav')}", rec.samples, SAMPLE_RATE, format="NIST", subtype="PCM_16")
        _write_lines(f"{stem}.{case('phn')}", (f"{p.start} {p.end} {p.label}" for p in rec.phones))
        _write_lines(f"{stem}.{case('wrd')}", (f"{s} {e} {w}" for s, e, w in rec.words))
        _write_lines(f"{stem}.{case('txt')}", [f"0 {n} {prompt.text}"])
        phones.update(p.label for p in rec.phones)
        n_samples += n
    return {"speaker": speaker.id, "utterances": len(speaker.prompts), "samples": n_samples,
            "phones": dict(phones)}


def _write_lines(path: str | Path, lines) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(line + "\n" for line in lines)


def _write_docs(root: Path, speakers: list[Speaker], lowercase: bool) -> None:
    """DOC/SPEAKERS.TXT (who is who, and how they were made) and DOC/PROMPTS.TXT."""
    case = str.lower if lowercase else str.upper
    doc = root / case("doc")
    doc.mkdir()
    lines = ["; mini TIMIT speakers (synthetic, espeak-ng). Role: train, dev (TIMIT dev list), core\n",
             "; (TIMIT core test list), other (TEST speaker in neither list).\n",
             "; ID    Sex DR Use  Role  Voice              Pitch Range Rate Level  Tilt  SNR  Noise\n"]
    for s in speakers:
        v = s.voice
        use = {"TRAIN": "TRN", "TEST": "TST"}[s.part]
        lines.append(f"  {s.id:5s} {s.sex.upper():3s} {s.region:<2d} {use:4s} {s.role:5s} "
                     f"{v.espeak_name:18s} {v.pitch:5d} {v.pitch_range:5d} {v.rate:4d} {v.level_dbfs:5.1f} "
                     f"{v.tilt:5.2f} {v.snr_db:4.1f} {v.noise_colour:5.2f}\n")
    _write_lines(doc / case("speakers.txt"), (line.rstrip("\n") for line in lines))
    prompts = {p.id: p.text for s in speakers for p in s.prompts}
    order = sorted(prompts, key=lambda u: (u[:2], int(u[2:])))
    _write_lines(doc / case("prompts.txt"), (f"{prompts[u]} ({u})" for u in order))


def seeded_rng(seed: int, *keys: str) -> np.random.Generator:
    """A generator determined by the seed and string keys (stable across processes and runs)."""
    return np.random.default_rng(np.random.SeedSequence([seed, *(zlib.crc32(k.encode()) for k in keys)]))


def _pick_balanced(ids: tuple[str, ...], n: int) -> list[str]:
    """n ids alternating female and male in list order (then the rest of the larger group)."""
    female = [s for s in ids if s[0] == "f"]
    male = [s for s in ids if s[0] == "m"]
    order = [s for pair in zip(female, male) for s in pair]
    order += female[len(male):] + male[len(female):]
    return order[:n]


def _core_speakers(n: int) -> list[str]:
    """n core-test speakers, one per dialect region first (female in odd regions, male in even)."""
    by_region = [list(CORE_TEST_SPEAKERS[3 * r:3 * r + 3]) for r in range(N_REGIONS)]
    order = []
    for r, trio in enumerate(by_region):
        want = "f" if r % 2 == 0 else "m"
        order.append(next(s for s in trio if s[0] == want))
    rest = [s for s in CORE_TEST_SPEAKERS if s not in order]
    return (order + rest)[:n]


def _new_ids(n: int, taken: set[str], rng: np.random.Generator) -> list[str]:
    """n TIMIT-style ids (sex + 3 letters + digit), 40% female, none in `taken`."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    out: list[str] = []
    while len(out) < n:
        sex = "f" if len(out) % 5 in (1, 3) else "m"
        spk = sex + "".join(rng.choice(letters, 3)) + "0"
        if spk not in taken and spk not in out:
            out.append(spk)
    return out


def _cycle(items: tuple[str, ...], rng: np.random.Generator):
    """Endless iterator over shuffled copies of `items`."""
    while True:
        yield from rng.permutation(items).tolist()


def _draw_voice(variant: str, accents: tuple[str, ...], rng: np.random.Generator,
                used: set[tuple]) -> Voice:
    """Voice settings for one speaker, never repeating an earlier (variant, accent, pitch, rate)."""
    while True:
        voice = Voice(variant=variant, accent=str(rng.choice(accents)),
                      pitch=int(rng.integers(PITCH[0], PITCH[1] + 1)),
                      pitch_range=int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1)),
                      rate=int(rng.integers(RATE_WPM[0], RATE_WPM[1] + 1)),
                      level_dbfs=round(float(rng.uniform(*LEVEL_DBFS)), 2),
                      tilt=round(float(rng.uniform(*TILT)), 3),
                      snr_db=round(float(rng.uniform(*SNR_DB)), 2),
                      noise_colour=round(float(rng.uniform(*NOISE_COLOUR)), 3))
        key = (voice.variant, voice.accent, voice.pitch, voice.rate)
        if key not in used:
            used.add(key)
            return voice


def _pad(syn: Synthesis, lead: int, trail: int) -> Synthesis:
    """Add `lead` and `trail` samples of digital silence around the synthesized audio."""
    samples = np.concatenate([np.zeros(lead, np.int16), syn.samples, np.zeros(trail, np.int16)])
    phonemes = tuple(PhonemeEvent(p.symbol, p.start + lead, p.end + lead, p.word) for p in syn.phonemes)
    words = tuple(Word(w.text, w.start + lead, w.end + lead) for w in syn.words)
    return replace(syn, samples=samples, phonemes=phonemes, words=words)


def _channel(clean: np.ndarray, speech: np.ndarray, voice: Voice, rng: np.random.Generator) -> np.ndarray:
    """Spectral tilt, level (peaks capped) and background noise of the speaker's channel -> int16.

    clean: (T,) float at 16 kHz; speech: (T,) bool, True inside phones other than h#/pau.
    """
    y = clean.copy()
    y[1:] += voice.tilt * clean[:-1]
    rms = math.sqrt(float(np.mean(y[speech] ** 2))) if speech.any() else 1.0
    gain = 10 ** ((voice.level_dbfs + rng.uniform(-1.0, 1.0)) / 20) / max(rms, 1e-9)
    y *= min(gain, PEAK_MAX / max(float(np.abs(y).max()), 1e-9))  # peaky voices: lower, not clipped
    white = torch.from_numpy(rng.standard_normal(len(y)))
    noise = torchaudio.functional.lfilter(white, torch.tensor([1.0, -voice.noise_colour], dtype=torch.float64),
                                          torch.tensor([1.0, 0.0], dtype=torch.float64), clamp=False).numpy()
    speech_rms = 10 ** (voice.level_dbfs / 20)
    noise *= speech_rms / 10 ** (voice.snr_db / 20) / math.sqrt(float(np.mean(noise ** 2)))
    return np.clip(np.round((y + noise) * 32768.0), -32768, 32767).astype(np.int16)
