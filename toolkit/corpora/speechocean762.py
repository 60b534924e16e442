"""speechocean762 (and any corpus in its layout) -> Kaldi data dirs with phone transcripts.

Two layouts are read:

    original:  <corpus>/train/ and <corpus>/test/   Kaldi files: wav.scp, text, utt2spk (+ spk2age,
                                                      spk2gender); wav.scp paths relative to <corpus>
               <corpus>/WAVE/SPEAKERxxxx/*.WAV
               <corpus>/resource/lexicon.txt          WORD<tab>CMU phones with stress digits
               <corpus>/resource/text-phone           <utt>.<word index><tab>phones with position tags
    flat:      <corpus>/wav.scp, text, utt2spk, ...  one data dir (the shared training half), paths
               <corpus>/lexicon.txt, text-phone      relative to <corpus>

Labels. Each utterance's label sequence is the canonical pronunciation of its words, in word order:
the word's `text-phone` line when there is one, otherwise its first pronunciation in the lexicon.
Stress digits (`AO0`) and word-position tags (`_B`, `_I`, `_E`, `_S`) are stripped, phones are
lower-cased and folded into the 39-phone TIMIT scoring set (`ao` -> `aa`, `zh` -> `sh`; the other 37
CMU phones are TIMIT symbols already). No silence token is added: the corpus has no alignments to
place one. A word in neither file is an error listing the missing words and their utterances, or,
with `skip_oov`, those utterances are left out and counted.

Ids. Kaldi wants every utterance id to start with its speaker id (so that both sort alike);
speechocean762's do not (`000010011` is speaker `0001`), so such utterances are renamed
`<speaker>-<utterance>` (`0001-000010011`). Audio paths are made absolute; pipes are kept as they are.

Dev set. A recipe needs a dev set for checkpoint selection and decoder tuning, and speechocean762 has
none: `carve_dev` holds out a fraction of the training *speakers* (all of their utterances), chosen
per stratum (children: age < 18 in spk2age, adults, speakers of unknown age) in proportion to the
stratum's size, by a seeded hash of the speaker id, so the choice is deterministic and does not
depend on file order.
"""
from __future__ import annotations

import logging
import math
import os
import re
import shutil
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.corpora.timit_protocol import PHONES_39
from toolkit.data.datadir import DataDir, DataDirError
from toolkit.data.symbols import SymbolTable
from toolkit.utils.atomic import write_json

log = logging.getLogger(__name__)

# The CMU dictionary's 39 phones (ARPAbet, without stress).
CMU_PHONES = ("AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH",
              "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH",
              "UW", "V", "W", "Y", "Z", "ZH")
# CMU phones that the TIMIT 39-phone scoring set merges into another phone.
FOLD_TO_TIMIT39 = {"ao": "aa", "zh": "sh"}
# The labels an utterance can get: 37 of the TIMIT 39 (never `sil`, and never `dx`, which CMU lacks).
PHONES = tuple(sorted({FOLD_TO_TIMIT39.get(p.lower(), p.lower()) for p in CMU_PHONES}))
assert set(PHONES) <= set(PHONES_39) and len(PHONES) == 37

CHILD_MAX_AGE = 17   # spk2age: 17 or younger is a child (speechocean762: children 6-15, adults 19-37)
PARTS = ("train", "test")
_PHONE = re.compile(r"([A-Za-z]+?)([012])?(?:_([BIES]))?")


class Speechocean762Error(DataDirError):
    """A corpus or data dir that cannot be prepared; the message names the file (and line)."""


class MissingWordsError(Speechocean762Error):
    """Transcript words found neither in text-phone nor in the lexicon.

    `missing` maps each word to the utterances it occurs in.
    """

    def __init__(self, message: str, missing: dict[str, list[str]]):
        super().__init__(message)
        self.missing = missing


def canonical_phone(label: str, where: str = "") -> str:
    """`AO0_I` -> `aa`, `ZH` -> `sh`, `IY1` -> `iy`: stress and position tag stripped, lower case,
    folded to the TIMIT 39-phone set. Raises Speechocean762Error for anything but a CMU phone."""
    m = _PHONE.fullmatch(label)
    if m is None or m.group(1).upper() not in CMU_PHONES:
        raise Speechocean762Error(f"{where + ': ' if where else ''}unknown phone {label!r} (expected a CMU phone "
                                  "with an optional stress digit 0-2 and position tag _B/_I/_E/_S, e.g. AO0_I)")
    phone = m.group(1).lower()
    return FOLD_TO_TIMIT39.get(phone, phone)


def read_table(path: str | Path) -> dict[str, str]:
    """`key<whitespace>value` lines (spaces or tabs, as the corpus mixes them) -> {key: value}."""
    path = Path(path)
    if not path.is_file():
        raise Speechocean762Error(f"{path}: file not found")
    table: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.strip().split(maxsplit=1)
            if len(parts) < 2:
                raise Speechocean762Error(f"{path}:{lineno}: '{parts[0]}' has no value")
            if parts[0] in table:
                raise Speechocean762Error(f"{path}:{lineno}: duplicate key '{parts[0]}'")
            table[parts[0]] = parts[1].strip()
    return table


def read_lexicon(path: str | Path) -> dict[str, list[list[str]]]:
    """WORD -> its pronunciations in file order, each as canonical phones (see `canonical_phone`).

    Words are upper-cased, so transcripts match in any case.
    """
    path = Path(path)
    if not path.is_file():
        raise Speechocean762Error(f"{path}: lexicon not found")
    lexicon: dict[str, list[list[str]]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 2:
                raise Speechocean762Error(f"{path}:{lineno}: word '{parts[0]}' has no pronunciation")
            where = f"{path}:{lineno}"
            lexicon.setdefault(parts[0].upper(), []).append([canonical_phone(p, where) for p in parts[1:]])
    return lexicon


def read_text_phone(path: str | Path) -> dict[str, dict[int, list[str]]]:
    """`<utt>.<word index><tab>phones` -> {utt: {word index: canonical phones}}."""
    out: dict[str, dict[int, list[str]]] = {}
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            utt, _, index = parts[0].rpartition(".")
            if not utt or not index.isdigit() or len(parts) < 2:
                raise Speechocean762Error(f"{path}:{lineno}: expected '<utt>.<word index> <phones>', "
                                          f"got {line.strip()!r}")
            out.setdefault(utt, {})[int(index)] = [canonical_phone(p, f"{path}:{lineno}") for p in parts[1:]]
    return out


@dataclass
class Pronunciations:
    """Where labels come from: per-utterance text-phone lines first, then the lexicon."""
    lexicon: dict[str, list[list[str]]]
    text_phone: dict[str, dict[int, list[str]]] = field(default_factory=dict)
    lexicon_path: str = "lexicon"

    @classmethod
    def load(cls, lexicon: str | Path, text_phone: str | Path | None = None) -> "Pronunciations":
        return cls(read_lexicon(lexicon), read_text_phone(text_phone) if text_phone else {}, str(lexicon))

    def labels(self, utt: str, words: list[str]) -> tuple[list[str], list[str]]:
        """(canonical phones of the words, words found nowhere) for one utterance."""
        phones: list[str] = []
        missing: list[str] = []
        given = self.text_phone.get(utt, {})
        for i, word in enumerate(words):
            if i in given:
                phones += given[i]
            elif word.upper() in self.lexicon:
                phones += self.lexicon[word.upper()][0]
            else:
                missing.append(word)
        return phones, missing


@dataclass(frozen=True)
class Corpus:
    """A speechocean762-layout corpus found on disk: Kaldi dirs by part, their audio root, resources."""
    root: Path
    layout: str                  # "original" or "flat"
    parts: dict[str, Path]       # "train"/"test" -> dir with wav.scp, text, utt2spk
    audio_root: Path             # relative wav.scp paths start here
    lexicon: Path
    text_phone: Path | None


def find_corpus(root: str | Path) -> Corpus:
    """Recognise the original layout (train/ test/ resource/) or the flat one (one data dir + lexicon)."""
    root = Path(root)
    if not root.is_dir():
        raise Speechocean762Error(f"corpus directory not found: '{root}'")
    parts = {p: root / p for p in PARTS if (root / p / "wav.scp").is_file()}
    if parts:
        resource = root / "resource"
        if not (resource / "lexicon.txt").is_file():
            raise Speechocean762Error(f"{resource / 'lexicon.txt'}: not found (the original speechocean762 layout "
                                      "has resource/lexicon.txt next to train/ and test/)")
        text_phone = resource / "text-phone"
        return Corpus(root, "original", parts, root, resource / "lexicon.txt",
                      text_phone if text_phone.is_file() else None)
    if (root / "wav.scp").is_file():
        if not (root / "lexicon.txt").is_file():
            raise Speechocean762Error(f"{root / 'lexicon.txt'}: not found (a flat speechocean762 dir holds "
                                      "lexicon.txt next to wav.scp)")
        text_phone = root / "text-phone"
        return Corpus(root, "flat", {"train": root}, root, root / "lexicon.txt",
                      text_phone if text_phone.is_file() else None)
    raise Speechocean762Error(
        f"{root}: not a speechocean762 corpus. Expected either the original layout "
        f"({root}/train/wav.scp and/or {root}/test/wav.scp, {root}/resource/lexicon.txt, {root}/resource/text-phone, "
        f"{root}/WAVE/) or a flat data dir ({root}/wav.scp, text, utt2spk, lexicon.txt[, text-phone])")


@dataclass
class PreparedDir:
    """One data dir in memory, with what preparing it found."""
    data: DataDir
    spk2age: dict[str, int] | None
    skipped: dict[str, list[str]]   # utterance (original id) -> its missing words


def load_data_dir(src: str | Path, pronunciations: Pronunciations, *, audio_root: str | Path | None = None,
                  skip_oov: bool = False) -> PreparedDir:
    """Read a Kaldi dir (wav.scp, text, utt2spk [+ spk2gender, spk2age]) and label it with phones.

    Relative audio paths are resolved against `audio_root` (default: `src`) and must exist. Raises
    MissingWordsError (listing words and utterances) for words that have no pronunciation, unless
    `skip_oov`, which leaves those utterances out and records them in `skipped`.
    """
    src = Path(src)
    root = Path(audio_root) if audio_root is not None else src
    wav_scp, text, utt2spk = (read_table(src / name) for name in ("wav.scp", "text", "utt2spk"))
    for name, table in (("wav.scp", wav_scp), ("text", text)):
        if set(table) != set(utt2spk):
            only_here, only_spk = sorted(set(table) - set(utt2spk)), sorted(set(utt2spk) - set(table))
            raise Speechocean762Error(
                f"{src / name}: utterance ids differ from {src / 'utt2spk'}: "
                + ", ".join(f"{len(ids)} only in {where} (e.g. '{ids[0]}')"
                            for ids, where in ((only_here, name), (only_spk, "utt2spk")) if ids))
    spk2gender = read_table(src / "spk2gender") if (src / "spk2gender").is_file() else None
    spk2age = None
    if (src / "spk2age").is_file():
        spk2age = {}
        for spk, age in read_table(src / "spk2age").items():
            if not age.isdigit():
                raise Speechocean762Error(f"{src / 'spk2age'}: speaker {spk}: age {age!r} is not a whole number")
            spk2age[spk] = int(age)

    labels, missing_in = {}, {}
    for utt in sorted(utt2spk):
        phones, missing = pronunciations.labels(utt, text[utt].split())
        if missing:
            missing_in[utt] = missing
        labels[utt] = phones
    if missing_in and not skip_oov:
        raise MissingWordsError(_missing_words_message(src, pronunciations, missing_in), _by_word(missing_in))
    if missing_in:
        log.warning("%s: skipped %d of %d utterance(s) with words missing from text-phone and the lexicon: %s",
                    src, len(missing_in), len(utt2spk), _word_list(_by_word(missing_in)))

    new_id = {u: u if u.startswith(s) else f"{s}-{u}" for u, s in utt2spk.items() if u not in missing_in}
    if not new_id:
        raise Speechocean762Error(f"{src}: no utterances left to prepare")
    absent = []
    wav = {}
    for utt, uid in new_id.items():
        entry = wav_scp[utt]
        if not entry.endswith("|"):  # a path, not a Kaldi pipe
            path = Path(entry) if os.path.isabs(entry) else root / entry
            if not path.is_file():
                absent.append(f"{path} (utterance {utt})")
            entry = os.path.abspath(path)
        wav[uid] = entry
    if absent:
        raise Speechocean762Error(f"{src / 'wav.scp'}: {len(absent)} audio file(s) not found, e.g. {absent[0]}"
                                  f" (relative paths are resolved against {root})")
    spks = {utt2spk[u] for u in new_id}
    data = DataDir(utt2spk={uid: utt2spk[u] for u, uid in new_id.items()}, wav_scp=wav,
                   text={uid: labels[u] for u, uid in new_id.items()},
                   spk2gender=None if spk2gender is None else {s: g for s, g in spk2gender.items() if s in spks})
    if data.spk2gender is not None and set(data.spk2gender) != spks:
        log.warning("%s: spk2gender lacks %d speaker(s); not copied", src, len(spks - set(data.spk2gender)))
        data.spk2gender = None
    return PreparedDir(data, None if spk2age is None else {s: a for s, a in spk2age.items() if s in spks},
                       missing_in)


def _by_word(missing_in: dict[str, list[str]]) -> dict[str, list[str]]:
    words: dict[str, list[str]] = {}
    for utt, missing in sorted(missing_in.items()):
        for word in dict.fromkeys(missing):
            words.setdefault(word, []).append(utt)
    return words


def _word_list(words: dict[str, list[str]], limit: int = 20) -> str:
    shown = [f"{w} ({len(u)} utt: {', '.join(u[:3])}{', ...' if len(u) > 3 else ''})"
             for w, u in sorted(words.items())[:limit]]
    return "; ".join(shown) + (f"; and {len(words) - limit} more" if len(words) > limit else "")


def _missing_words_message(src: Path, pron: Pronunciations, missing_in: dict[str, list[str]]) -> str:
    words = _by_word(missing_in)
    return (f"{src / 'text'}: {len(words)} word(s) in {len(missing_in)} utterance(s) have no pronunciation in "
            f"text-phone or {pron.lexicon_path}: {_word_list(words)}. Add them to the lexicon, or pass "
            "--skip-oov to leave those utterances out (counted in the log).")


def speaker_strata(speakers: list[str], spk2age: dict[str, int] | None) -> dict[str, list[str]]:
    """Speakers grouped as `child` (age <= CHILD_MAX_AGE), `adult` and `unknown` (no age given)."""
    strata: dict[str, list[str]] = {"child": [], "adult": [], "unknown": []}
    for spk in sorted(speakers):
        age = (spk2age or {}).get(spk)
        strata["unknown" if age is None else "child" if age <= CHILD_MAX_AGE else "adult"].append(spk)
    return {k: v for k, v in strata.items() if v}


def carve_dev(speakers: list[str], spk2age: dict[str, int] | None, fraction: float = 0.1,
              seed: int = 0) -> list[str]:
    """Held-out speakers: round(fraction * speakers), at least 1, shared among the strata of
    `speaker_strata` in proportion to their sizes (largest remainder), each stratum's picked by
    the smallest crc32 of `<seed>:<speaker>`. Deterministic; independent of the input order."""
    if not 0 < fraction < 1:
        raise ValueError(f"dev fraction must be in (0, 1), got {fraction}")
    if len(set(speakers)) < 2:
        raise ValueError(f"cannot hold out speakers for a dev set from {len(set(speakers))} speaker(s)")
    strata = speaker_strata(list(set(speakers)), spk2age)
    total = len(set(speakers))
    n_dev = min(total - 1, max(1, math.floor(fraction * total + 0.5)))
    quotas = {k: n_dev * len(v) / total for k, v in strata.items()}
    counts = {k: math.floor(q) for k, q in quotas.items()}
    for k in sorted(quotas, key=lambda k: (counts[k] - quotas[k], k))[:n_dev - sum(counts.values())]:
        counts[k] += 1
    rank = lambda spk: (zlib.crc32(f"{seed}:{spk}".encode()), spk)
    return sorted(s for k, members in strata.items() for s in sorted(members, key=rank)[:counts[k]])


def write_lang(out: str | Path, lexicon: str | Path) -> None:
    """`<out>/phones.txt` (the label set, sorted) and a copy of the lexicon for preparing other dirs later."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    SymbolTable(list(PHONES)).save(out / "phones.txt")
    if Path(lexicon).resolve() != (out / "lexicon.txt").resolve():
        shutil.copyfile(lexicon, out / "lexicon.txt")


def prepare_speechocean762(corpus_dir: str | Path, out_dir: str | Path, *, dev_fraction: float = 0.1,
                           dev_seed: int = 0, skip_oov: bool = False) -> dict:
    """Write `<out>/train`, `<out>/dev` (speakers held out of train), `<out>/test` (when the corpus has
    a test part), `<out>/lang` and `<out>/prepare.json` (counts, dev speakers, skipped utterances)."""
    corpus = find_corpus(corpus_dir)
    out = Path(out_dir)
    pron = Pronunciations.load(corpus.lexicon, corpus.text_phone)
    log.info("%s: %s layout, parts %s, lexicon of %d words, text-phone for %d utterances", corpus.root,
             corpus.layout, "/".join(corpus.parts), len(pron.lexicon), len(pron.text_phone))
    loaded = {part: load_data_dir(path, pron, audio_root=corpus.audio_root, skip_oov=skip_oov)
              for part, path in corpus.parts.items()}
    sets: dict[str, DataDir] = {}
    summary: dict = {"corpus": str(corpus.root.resolve()), "layout": corpus.layout, "dev_fraction": dev_fraction,
                     "dev_seed": dev_seed, "skipped_oov": {}}
    if "train" in loaded:
        train = loaded["train"]
        spk2utt = train.data.spk2utt
        dev_spks = carve_dev(list(spk2utt), train.spk2age, dev_fraction, dev_seed)
        held = set(dev_spks)
        sets["train"] = train.data.subset([u for s, us in spk2utt.items() if s not in held for u in us])
        sets["dev"] = train.data.subset([u for s in dev_spks for u in spk2utt[s]])
        strata = speaker_strata(dev_spks, train.spk2age)
        summary["dev_speakers"] = {k: v for k, v in strata.items()}
        log.info("dev: %d held-out speakers (%s)", len(dev_spks), ", ".join(f"{len(v)} {k}" for k, v in strata.items()))
    if "test" in loaded:
        sets["test"] = loaded["test"].data
    for part, prepared in loaded.items():
        summary["skipped_oov"][part] = len(prepared.skipped)
    for name, data in sets.items():
        if (out / name).exists():
            shutil.rmtree(out / name)
        data.save(out / name)
        summary[name] = {"speakers": len(data.spk2utt), "utterances": len(data.utts),
                         "phones": sum(len(p) for p in data.text.values())}
        log.info("%-5s %4d speakers %5d utterances -> %s", name, len(data.spk2utt), len(data.utts), out / name)
    write_lang(out / "lang", corpus.lexicon)
    write_json(out / "prepare.json", summary)
    return summary


def prepare_data_dir(src: str | Path, out_dir: str | Path, lexicon: str | Path, *,
                     text_phone: str | Path | None = None, audio_root: str | Path | None = None,
                     skip_oov: bool = False) -> dict:
    """Prepare one more data dir in the same layout (e.g. a user's own recordings) for decoding and
    scoring: `src` holds wav.scp, text (words), utt2spk; `text-phone` in `src` is used when present."""
    src = Path(src)
    if text_phone is None and (src / "text-phone").is_file():
        text_phone = src / "text-phone"
    prepared = load_data_dir(src, Pronunciations.load(lexicon, text_phone), audio_root=audio_root,
                             skip_oov=skip_oov)
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    prepared.data.save(out)
    counts = {"utterances": len(prepared.data.utts), "speakers": len(prepared.data.spk2utt),
              "skipped_oov": len(prepared.skipped)}
    log.info("%s -> %s: %d utterances of %d speakers (%d skipped)", src, out, counts["utterances"],
             counts["speakers"], counts["skipped_oov"])
    return counts
