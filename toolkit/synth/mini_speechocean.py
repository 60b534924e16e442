"""The embedded synthetic corpus "mini speechocean762": speechocean762's layout, spoken by espeak-ng.

For tests and as the speechocean762 recipe's default smoke test (no download, a few seconds to make):

    <out>/train/, <out>/test/          wav.scp, text, utt2spk, spk2utt, spk2age, spk2gender (tab-separated
                                       like the corpus; wav.scp paths relative to <out>)
    <out>/WAVE/SPEAKERxxxx/<utt>.WAV   RIFF WAV, 16 kHz, 16 bit
    <out>/resource/lexicon.txt         WORD<tab>CMU phones with stress digits, every pronunciation used
    <out>/resource/text-phone          <utt>.<word index><tab>the word's phones with position tags _B _I _E _S

Speakers have 4-digit ids and utterances `0<speaker><4 digits>`, as in the corpus (so the ids do not
start with the speaker id); half of them are children (higher pitch, slower speech, spk2age 6-15),
half adults (19-37). Each reads digit strings and short sentences from the mini TIMIT grammar.

The audio comes from the mini TIMIT machinery (`render_utterance`: espeak voice, channel, 16 kHz).
Pronunciations are what espeak actually said: each word's espeak phonemes mapped with the
espeak -> TIMIT table of the speaker's accent, then TIMIT -> CMU (`ax` -> AH, `dx` and `q` -> T,
syllabic `el`/`en`/`em` -> AH L/N/M, closures dropped), with a stress digit on vowels from espeak's
stress mark (' -> 1, , -> 2, none -> 0). So labels match the audio exactly, and `text-phone` holds
per-utterance pronunciations that may differ from the word's first lexicon entry (`the`), as in
the real corpus. Generation is seeded and deterministic.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import soundfile as sf
import torch

from toolkit.synth.espeak import EspeakSynthesizer, PhonemeEvent, espeak_version
from toolkit.synth.espeak_timit_phones import ACCENTS, CLOSURES, accent_of, timit_labels
from toolkit.synth.mini_timit import (FEMALE_VARIANTS, MALE_VARIANTS, SAMPLE_RATE, Prompt, Speaker,
                                      _draw_voice, completed_corpus, render_speakers, render_utterance,
                                      seeded_rng)
from toolkit.synth.sentences import generate_sentences
from toolkit.utils.atomic import write_json

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1   # bump when the same settings would produce different files
STAMP_NAME = ".mini_speechocean.json"


@dataclass(frozen=True)
class CorpusSize:
    """Speakers per part (half children, half adults; an odd one is an adult) and utterances each."""
    train: int
    test: int
    digit_strings: int
    sentences: int


SIZES = {"default": CorpusSize(train=10, test=2, digit_strings=4, sentences=6)}

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DIGIT_STRING_LENGTH = (3, 5)
# Short prompts like speechocean762's ("we call it bear"), over the mini TIMIT vocabulary.
SHORT_TEMPLATES = (
    "{Name} {vpast} the {noun}.",
    "{Pron} {modal} {vbase} the {noun}.",
    "Please {vbase} the {adj} {noun}.",
    "{Name}'s {noun} was {adj}.",
    "{Det} {noun} {vpast} {obj}.",
    "The {adj} {noun} was {intens} {adj}.",
)
CHILD_AGES, ADULT_AGES = (6, 15), (19, 37)
CHILD_PITCH, CHILD_RATE = (75, 99), (135, 165)

# TIMIT labels that are not CMU phones (as CMU would write the sound); closures and silences drop.
TIMIT_TO_CMU = {"ax": "AH", "ax-h": "AH", "ix": "IH", "axr": "ER", "ux": "UW", "hv": "HH", "dx": "T", "q": "T",
                "nx": "N", "eng": "NG", "el": "AH L", "en": "AH N", "em": "AH M",
                **{c: "" for c in CLOSURES}, "h#": "", "pau": "", "epi": ""}
CMU_VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})
_STRESS_DIGIT = {"'": "1", ",": "2"}


@dataclass(frozen=True)
class Reader:
    """One speaker of the corpus: the mini TIMIT speaker record (voice, prompts; part `train`/`test`,
    role `child`/`adult`, region 0: no dialect regions here), age and gender."""
    speaker: Speaker
    age: int
    gender: str


def plan_corpus(seed: int = 0, size: str = "default") -> list[Reader]:
    """Speakers, voices and prompts, deterministic in the seed; train speakers first."""
    if size not in SIZES:
        raise ValueError(f"unknown mini speechocean762 size {size!r}; choose one of {', '.join(SIZES)}")
    n = SIZES[size]
    rng = seeded_rng(seed, "speechocean762 plan")
    total = n.train + n.test
    speaker_ids = [f"{i:04d}" for i in sorted(rng.choice(range(1, 10000), total, replace=False).tolist())]
    rng.shuffle(speaker_ids)
    per_speaker = n.digit_strings + n.sentences
    sentences = generate_sentences(n.sentences * total, seed, templates=SHORT_TEMPLATES)
    used: set[tuple] = set()
    readers = []
    for k, spk in enumerate(speaker_ids):
        part = "train" if k < n.train else "test"
        child = (k if part == "train" else k - n.train) % 2 == 0
        female = k % 4 in (0, 3)
        voice = _draw_voice(str(rng.choice(FEMALE_VARIANTS if female else MALE_VARIANTS)), ACCENTS, rng, used)
        if child:
            voice = replace(voice, pitch=int(rng.integers(CHILD_PITCH[0], CHILD_PITCH[1] + 1)),
                            rate=int(rng.integers(CHILD_RATE[0], CHILD_RATE[1] + 1)))
        age = int(rng.integers(*(CHILD_AGES if child else ADULT_AGES), endpoint=True))
        numbers = sorted(rng.choice(range(1, 400), per_speaker, replace=False).tolist())
        texts = [_digit_string(rng) for _ in range(n.digit_strings)] + sentences[k * n.sentences:(k + 1) * n.sentences]
        prompts = tuple(Prompt(f"0{spk}{i:04d}", t) for i, t in zip(numbers, texts))
        readers.append(Reader(Speaker(spk, 0, part, "child" if child else "adult", voice, prompts), age,
                              "f" if female else "m"))
    return readers


def _digit_string(rng) -> str:
    digits = [DIGITS[int(d)] for d in rng.integers(0, 10, int(rng.integers(*DIGIT_STRING_LENGTH, endpoint=True)))]
    return " ".join(digits).capitalize() + "."


def word_pronunciations(phonemes: tuple[PhonemeEvent, ...], n_words: int, accent: str) -> list[list[str]]:
    """CMU phones with stress digits of each word, from espeak's phonemes (see the module docstring)."""
    prons: list[list[str]] = [[] for _ in range(n_words)]
    for p in phonemes:
        if p.word is None:
            continue
        stress = _STRESS_DIGIT.get(p.symbol[:1], "0")
        for label in timit_labels(p.symbol, accent):
            for phone in TIMIT_TO_CMU.get(label, label.upper()).split():
                if phone in CMU_VOWELS:
                    phone, stress = phone + stress, "0"   # one stressed vowel per espeak phoneme
                if not (phone == "R" and prons[p.word][-1:] == ["R"]):   # vowel+r, then espeak's own r
                    prons[p.word].append(phone)
    return prons


def position_tags(phones: list[str]) -> list[str]:
    """`_S` for a one-phone word, else `_B`, `_I`..., `_E` (the corpus's text-phone tags)."""
    if len(phones) == 1:
        return [phones[0] + "_S"]
    return [p + ("_B" if i == 0 else "_E" if i == len(phones) - 1 else "_I") for i, p in enumerate(phones)]


def make_mini_speechocean(out_dir: str | os.PathLike, seed: int = 0, size: str = "default",
                          n_jobs: int = 1) -> dict:
    """Generate the corpus into `out_dir` (nothing to do if it is already complete for these settings).

    Written next to `out_dir` and renamed into place when complete. Returns the stamp's summary.
    """
    start = time.time()
    out = Path(out_dir)
    settings = {"generator_version": GENERATOR_VERSION, "espeak_ng": espeak_version(), "seed": seed,
                "size": asdict(SIZES[size]) if size in SIZES else size}
    done = completed_corpus(out, settings, STAMP_NAME, "mini speechocean762")
    if done is not None:
        log.info("%s already holds mini speechocean762 with these settings; nothing to do", out)
        return done
    readers = plan_corpus(seed, size)
    staging = out.parent / f".{out.name}.partial"
    if staging.exists():  # left by an interrupted run; the name marks it as ours
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    rendered = {r["speaker"]: r["utterances"]
                for r in render_speakers(_render_reader, readers, (seed, str(staging)), n_jobs)}
    lexicon: dict[str, list[tuple[str, ...]]] = {}
    text_phone = []
    seconds = 0.0
    for reader in readers:
        spk = reader.speaker.id
        part = staging / reader.speaker.part
        part.mkdir(exist_ok=True)
        for utt, words, prons, samples in rendered[spk]:
            seconds += samples / SAMPLE_RATE
            for i, (word, pron) in enumerate(zip(words, prons)):
                if tuple(pron) not in lexicon.setdefault(word, []):
                    lexicon[word].append(tuple(pron))
                text_phone.append(f"{utt}.{i}\t{' '.join(position_tags(pron))}")
            _append(part / "wav.scp", f"{utt}\tWAVE/SPEAKER{spk}/{utt}.WAV")
            _append(part / "text", f"{utt}\t{' '.join(words)}")
            _append(part / "utt2spk", f"{utt}\t{spk}")
        _append(part / "spk2utt", f"{spk}\t{' '.join(u for u, *_ in rendered[spk])}")
        _append(part / "spk2age", f"{spk}\t{reader.age}")
        _append(part / "spk2gender", f"{spk}\t{reader.gender}")
    for part in {r.speaker.part for r in readers}:
        for name in ("wav.scp", "text", "utt2spk", "spk2utt", "spk2age", "spk2gender"):
            path = staging / part / name
            path.write_text("".join(sorted(path.read_text().splitlines(keepends=True))))
    (staging / "resource").mkdir()
    (staging / "resource" / "lexicon.txt").write_text(
        "".join(f"{w}\t{' '.join(p)}\n" for w in sorted(lexicon) for p in lexicon[w]))
    (staging / "resource" / "text-phone").write_text("".join(line + "\n" for line in sorted(
        text_phone, key=lambda line: (line.split(".")[0], int(line.split("\t")[0].split(".")[1])))))
    summary = {"settings": settings, "speakers": len(readers), "utterances": sum(map(len, rendered.values())),
               "seconds": round(seconds, 3), "words": len(lexicon)}
    write_json(staging / STAMP_NAME, summary)
    if out.exists():
        out.rmdir()  # completed_corpus() made sure it is empty
    os.replace(staging, out)
    log.info("wrote mini speechocean762 into %s: %d speakers, %d utterances, %.1f s of audio, %d words in %.1f s",
             out, summary["speakers"], summary["utterances"], seconds, len(lexicon), time.time() - start)
    return summary


def _append(path: Path, line: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def _render_reader(reader: Reader, seed: int, staging: str) -> dict:
    """Worker: synthesize one speaker's prompts into WAVE/; returns (utt, words, pronunciations, samples)."""
    torch.set_num_threads(1)  # identical float results whatever the machine's core count
    synth = EspeakSynthesizer()
    spk = reader.speaker
    accent = accent_of(spk.voice.espeak_name)
    wave_dir = Path(staging, "WAVE", f"SPEAKER{spk.id}")
    wave_dir.mkdir(parents=True, exist_ok=True)
    utterances = []
    for prompt in spk.prompts:
        rec = render_utterance(synth, spk, prompt, seed)
        words = [w.upper() for _, _, w in rec.words]
        prons = word_pronunciations(rec.phonemes, len(words), accent)
        empty = [w for w, p in zip(words, prons) if not p]
        if empty:
            raise ValueError(f"utterance {prompt.id}: no phones for the words {empty} ({prompt.text!r})")
        sf.write(wave_dir / f"{prompt.id}.WAV", rec.samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")
        utterances.append((prompt.id, words, prons, len(rec.samples)))
    return {"speaker": spk.id, "utterances": utterances}
