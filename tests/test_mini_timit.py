"""mini TIMIT: layout, file formats, labels, determinism and speaker lists of the synthetic corpus."""
import filecmp
import logging
import re
from collections import Counter
from pathlib import Path

import pytest
import soundfile as sf

from toolkit.bin import make_mini_timit as cli
from toolkit.corpora.timit_protocol import CORE_TEST_SPEAKERS, DEV_SPEAKERS, PHONES_61
from toolkit.synth.espeak import EspeakSynthesizer
from toolkit.synth.espeak_timit_phones import (ACCENTS, NEVER_PRODUCED, UnknownPhonemeError,
                                               align_timit_phones)
from toolkit.synth.mini_timit import (FEMALE_VARIANTS, MALE_VARIANTS, SIZES, STAMP_NAME,
                                      make_mini_timit, plan_corpus, render_utterance)
from toolkit.synth.sentences import SA_SENTENCES, vocabulary, words_of

TINY = SIZES["tiny"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus") / "timit"
    summary = make_mini_timit(out, size="tiny", seed=0, n_jobs=2)
    assert summary.generated
    return out


def utterance_stems(root: Path) -> list[Path]:
    return sorted(p.with_suffix("") for p in root.glob("*/*/*/*.WAV"))


def read_segments(path: Path) -> list[tuple[int, int, str]]:
    return [(int(s), int(e), label) for s, e, label in (line.split() for line in path.open())]


def speakers_by_part(root: Path, part: str) -> dict[str, str]:
    """speaker id (lower case) -> dialect region dir."""
    return {d.name.lower(): d.parent.name for d in root.glob(f"{part}/DR*/*")}


def test_tiny_layout_and_counts(tiny):
    train, test = speakers_by_part(tiny, "TRAIN"), speakers_by_part(tiny, "TEST")
    assert len(train) == TINY.train
    assert len(test) == TINY.dev + TINY.core_test + TINY.other_test
    assert all(re.fullmatch(r"[fm][a-z]{3}\d", s) for s in [*train, *test])
    assert all(re.fullmatch(r"DR[1-8]", dr) for dr in [*train.values(), *test.values()])
    for spk_dir in tiny.glob("*/DR*/*"):
        names = sorted(p.name for p in spk_dir.iterdir())
        stems = sorted({n.split(".")[0] for n in names})
        assert len(stems) == 10 and len(names) == 40, spk_dir
        assert Counter(re.sub(r"\d+", "", s) for s in stems) == {"SA": 2, "SX": 5, "SI": 3}
        assert {n.split(".")[1] for n in names} == {"WAV", "PHN", "WRD", "TXT"}
    assert (tiny / "DOC" / "SPEAKERS.TXT").is_file() and (tiny / "DOC" / "PROMPTS.TXT").is_file()


def test_sphere_wav_reads_back_at_16khz(tiny):
    for stem in utterance_stems(tiny)[:20]:
        wav = stem.with_suffix(".WAV")
        assert wav.read_bytes()[:8] == b"NIST_1A\n"
        info = sf.info(wav)
        assert (info.format, info.subtype, info.samplerate, info.channels) == ("NIST", "PCM_16", 16000, 1)
        n = int(stem.with_suffix(".TXT").read_text().split()[1])
        assert info.frames == n


def test_phn_and_wrd_cover_the_file_contiguously(tiny):
    for stem in utterance_stems(tiny):
        n = sf.info(stem.with_suffix(".WAV")).frames
        phones = read_segments(stem.with_suffix(".PHN"))
        assert phones[0][0] == 0 and phones[-1][1] == n, stem
        assert phones[0][2] == "h#" and phones[-1][2] == "h#", stem
        for (s0, e0, _), (s1, e1, _) in zip(phones, phones[1:]):
            assert e0 == s1 and s1 < e1, stem
        assert {label for _, _, label in phones} <= set(PHONES_61), stem
        start, end, text = stem.with_suffix(".TXT").read_text().rstrip("\n").split(" ", 2)
        assert (int(start), int(end)) == (0, n)
        words = read_segments(stem.with_suffix(".WRD"))
        assert [w for _, _, w in words] == words_of(text), stem
        bounds = {s for s, _, _ in phones} | {n}
        assert all(s in bounds and e in bounds and s < e for s, e, _ in words), stem


def test_same_seed_gives_identical_bytes_whatever_n_jobs(tiny, tmp_path):
    again = tmp_path / "again"
    make_mini_timit(again, size="tiny", seed=0, n_jobs=1)
    files = sorted(p.relative_to(tiny) for p in tiny.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert len(files) > 500
    _, mismatch, errors = filecmp.cmpfiles(tiny, again, files, shallow=False)
    assert not mismatch and not errors


def test_different_seed_gives_different_corpus():
    plan0, plan1 = plan_corpus("tiny", 0), plan_corpus("tiny", 1)
    assert [s.id for s in plan0 if s.role == "train"] != [s.id for s in plan1 if s.role == "train"]
    synth = EspeakSynthesizer()
    spk0 = next(s for s in plan0 if s.id == "faks0")
    spk1 = next(s for s in plan1 if s.id == "faks0")
    sa1 = spk0.prompts[0]
    assert sa1.id == "sa1" and spk1.prompts[0] == sa1
    rec0 = render_utterance(synth, spk0, sa1, seed=0)
    rec1 = render_utterance(synth, spk1, sa1, seed=1)
    assert rec0.samples.tobytes() != rec1.samples.tobytes()


@pytest.fixture
def restore_root_logger():
    """The CLI configures the root logger; put it back for the rest of the session."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_lowercase_option_via_cli(tiny, tmp_path, restore_root_logger):
    out = tmp_path / "lower"
    cli.main(["--out", str(out), "--size", "tiny", "--seed", "0", "--lowercase", "--nj", "2"])
    paths = [p.relative_to(out) for p in out.rglob("*")]
    assert paths and all(str(p) == str(p).lower() for p in paths)
    assert (out / "train").is_dir() and (out / "test").is_dir() and not (out / "TRAIN").exists()
    for stem in utterance_stems(tiny)[:10]:
        rel = stem.relative_to(tiny)
        for ext in ("WAV", "PHN"):
            upper = tiny / rel.with_suffix(f".{ext}")
            lower = out / str(rel.with_suffix(f".{ext}")).lower()
            assert upper.read_bytes() == lower.read_bytes()


def test_real_speaker_lists_select_dev_and_core_test(tiny):
    train, test = speakers_by_part(tiny, "TRAIN"), speakers_by_part(tiny, "TEST")
    dev = set(test) & set(DEV_SPEAKERS)
    core = set(test) & set(CORE_TEST_SPEAKERS)
    assert dev == {"faks0", "mgwt0"}
    assert core == {"felc0", "mtas1"}
    assert len(set(test) - dev - core) == TINY.other_test
    assert not set(train) & (set(DEV_SPEAKERS) | set(CORE_TEST_SPEAKERS))
    assert not set(train) & set(test)
    # core-test speakers sit in their real dialect region (the list is ordered DR1..DR8, 3 each)
    assert test["felc0"] == "DR1" and test["mtas1"] == "DR2"


def test_voice_matches_speaker_sex_and_voices_are_distinct(tiny):
    rows = [line.split() for line in (tiny / "DOC" / "SPEAKERS.TXT").open() if not line.startswith(";")]
    voices = set()
    for spk, sex, _dr, _use, _role, voice, pitch, _range, rate, *_ in rows:
        variant = voice.split("+")[1]
        assert sex == spk[0].upper()
        assert variant in (FEMALE_VARIANTS if sex == "F" else MALE_VARIANTS)
        voices.add((voice, pitch, rate))
    assert len(voices) == len(rows)


def test_train_and_test_texts_are_disjoint_except_sa(tiny):
    def texts(part):
        return {p.read_text().split(" ", 2)[2] for p in (tiny / part).glob("DR*/*/S[XI]*.TXT")}
    assert not texts("TRAIN") & texts("TEST")
    sa = {p.read_text().split(" ", 2)[2].strip() for p in tiny.glob("*/DR*/*/SA*.TXT")}
    assert sa == set(SA_SENTENCES)


def test_complete_corpus_is_not_regenerated(tiny, tmp_path):
    stamp = tiny / STAMP_NAME
    before = stamp.stat().st_mtime_ns
    summary = make_mini_timit(tiny, size="tiny", seed=0, n_jobs=2)
    assert not summary.generated and summary.utterances == 130
    assert stamp.stat().st_mtime_ns == before
    with pytest.raises(ValueError, match="other settings|settings"):
        make_mini_timit(tiny, size="tiny", seed=1)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a complete mini TIMIT"):
        make_mini_timit(foreign, size="tiny")


def test_unknown_espeak_phoneme_raises_naming_symbol_voice_and_text():
    synth = EspeakSynthesizer()
    text = "The loch was cold."
    out = synth.synthesize(text, voice="en-us+m3")
    assert "x" in [p.symbol for p in out.phonemes]  # espeak's velar fricative, not an American phone
    with pytest.raises(UnknownPhonemeError) as err:
        align_timit_phones(out)
    message = str(err.value)
    assert "'x'" in message and "en-us+m3" in message and text in message


def test_bad_voice_names_raise():
    synth = EspeakSynthesizer()
    with pytest.raises(ValueError, match="variant 'nosuchvoice'"):
        synth.synthesize("Hello.", voice="en-us+nosuchvoice")
    with pytest.raises(ValueError, match="unknown espeak voice 'xx-yy'"):
        synth.synthesize("Hello.", voice="xx-yy")
    with pytest.raises(ValueError, match="no TIMIT phone table"):
        align_timit_phones(synth.synthesize("Hello.", voice="de"))


@pytest.mark.parametrize("accent", ACCENTS)
def test_vocabulary_maps_onto_timit_in_every_accent(accent):
    """Every word the corpus can say is attributed to its word and maps onto TIMIT labels."""
    synth = EspeakSynthesizer()
    words = vocabulary()
    labels = Counter()
    for i in range(0, len(words), 12):
        chunk = words[i:i + 6] + [","] + words[i + 6:i + 12]
        text = " ".join(chunk).replace(" ,", ",") + "."
        out = synth.synthesize(text, voice=f"{accent}+f2")
        assert [w.text.lower() for w in out.words] == words_of(text)
        segments = align_timit_phones(out)
        labels.update(s.label for s in segments)
    assert set(labels) <= set(PHONES_61)
    if accent == "en-us":
        assert set(PHONES_61) - set(labels) == set(NEVER_PRODUCED)


def test_sizes_and_sentence_plan():
    for name, size in SIZES.items():
        plan = plan_corpus(name, seed=3)
        assert len(plan) == size.train + size.dev + size.core_test + size.other_test
        assert all(len(s.prompts) == 10 and len({p.id for p in s.prompts}) == 10 for s in plan)
        sx = Counter(p.id for s in plan for p in s.prompts if p.id.startswith("sx"))
        si = Counter(p.id for s in plan for p in s.prompts if p.id.startswith("si"))
        assert all(n == 1 for n in si.values())
        assert max(sx.values()) <= 8 and sum(sx.values()) == 5 * len(plan)
