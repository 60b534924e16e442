"""Bad input through the real entry points: each case runs `python -m toolkit.bin.<tool>` on a broken
data dir, audio file, feature archive, TIMIT tree or parallel text, and expects exit status 1, a
message naming the file and line or utterance, and no Python traceback (these are user errors)."""
import os
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf

from toolkit.corpora.timit_protocol import CORE_TEST_SPEAKERS, DEV_SPEAKERS
from toolkit.data.datadir import write_table

ROOT = Path(__file__).resolve().parents[1]
FBANK = "fbank"
SIGNAL = (np.sin(np.arange(8000) * 0.05) * 10000).astype(np.int16)


def data_dir(root: Path, wav_scp: dict[str, str] | None = None, **tables) -> Path:
    """A data dir of speaker s1 with utterances s1_a and s1_b (WAV files, or the given wav.scp)."""
    d = root / "data"
    d.mkdir(parents=True, exist_ok=True)
    if wav_scp is None:
        wav_scp = {}
        for utt in ("s1_a", "s1_b"):
            sf.write(root / f"{utt}.wav", SIGNAL, 16000, subtype="PCM_16")
            wav_scp[utt] = str(root / f"{utt}.wav")
    write_table(d / "wav.scp", wav_scp)
    write_table(d / "utt2spk", {u: "s1" for u in wav_scp})
    write_table(d / "spk2utt", {"s1": sorted(wav_scp)})
    write_table(d / "text", {u: "a b" for u in wav_scp})
    for name, content in tables.items():
        (d / name.replace("_", ".")).write_bytes(content)
    return d


def dump_dir(root: Path) -> tuple[Path, str]:
    """A dump dir whose feats.scp points into one ark of two matrices; returns it and the ark path."""
    d = data_dir(root)
    ark = root / "feats.ark"
    with kaldiio.WriteHelper(f"ark,scp:{ark},{d / 'feats.scp'}") as w:
        for utt in ("s1_a", "s1_b"):
            w(utt, np.ones((20, 5), dtype=np.float32))
    return d, str(ark)


# Each case: (tmp_path) -> (tool, arguments, extra environment, strings stderr must hold).

def text_not_utf8(tmp):
    d = data_dir(tmp)
    (d / "text").write_bytes(b"s1_a a b\ns1_b caf\xe9\n")
    return "validate_data_dir", [d], {}, [f"{d / 'text'}:2: not valid UTF-8"]


def utt2spk_not_utf8_fix(tmp):
    d = data_dir(tmp)
    (d / "utt2spk").write_bytes(b"s1_a s1\ns1_b s\xff1\n")
    return "fix_data_dir", [d], {}, [f"{d / 'utt2spk'}:2: not valid UTF-8"]


def wav_scp_command_refused(tmp):
    d = data_dir(tmp, {"s1_a": f"touch {tmp / 'ran'}; cat {tmp / 'x.wav'} |"})
    return "validate_data_dir", ["--no-pipes", d], {}, [f"{d / 'wav.scp'}:1 (s1_a): shell command refused"]


def feats_scp_command(tmp):
    d, ark = dump_dir(tmp)
    (d / "feats.scp").write_text(f"s1_a {ark}:5\ns1_b gunzip -c {ark}.gz |\n")
    return "validate_data_dir", [d], {}, [f"{d / 'feats.scp'}:2: entry 's1_b' is a shell command"]


def unknown_phone(tmp):
    d = data_dir(tmp)
    (tmp / "phones.txt").write_text("a 0\nc 1\n")
    return "validate_data_dir", ["--lang", tmp / "phones.txt", d], {}, [f"{d / 'text'}:1: unknown phone 'b' in "
                                                                        "utterance 's1_a'"]


def truncated_pipe(tmp):
    sf.write(tmp / "a.wav", SIGNAL, 16000, subtype="PCM_16")
    d = data_dir(tmp, {"s1_a": f"head -c 4000 {tmp / 'a.wav'} |"})
    return "extract_feats", ["--frontend", FBANK, d, tmp / "dump"], {}, ["(utterance s1_a): truncated audio"]


def stereo(tmp):
    d = data_dir(tmp)
    sf.write(tmp / "s1_b.wav", np.stack([SIGNAL * 0, SIGNAL], axis=1), 16000, subtype="PCM_16")
    return "extract_feats", ["--frontend", FBANK, d, tmp / "dump"], {}, [f"{tmp / 's1_b.wav'} (utterance s1_b): 2 "
                                                                         "channels"]


def pipes_off_in_extraction(tmp):
    sf.write(tmp / "a.wav", SIGNAL, 16000, subtype="PCM_16")
    d = data_dir(tmp, {"s1_a": f"touch {tmp / 'ran'}; cat {tmp / 'a.wav'} |"})
    return "extract_feats", ["--frontend", FBANK, d, tmp / "dump"], {"TOOLKIT_NO_PIPES": "1"}, [
        f"{d / 'wav.scp'}:1 (s1_a): shell command refused"]


def wav_scp_not_utf8_in_extraction(tmp):
    d = data_dir(tmp)
    (d / "wav.scp").write_bytes((d / "wav.scp").read_bytes().replace(b"s1_b.wav", b"s1_\xe9.wav"))
    return "extract_feats", ["--frontend", FBANK, d, tmp / "dump"], {}, [f"{d / 'wav.scp'}:2: not valid UTF-8"]


def truncated_ark(tmp):
    d, ark = dump_dir(tmp)
    Path(ark).write_bytes(Path(ark).read_bytes()[:-30])
    offset = (d / "feats.scp").read_text().splitlines()[1].split(":")[-1]
    return "compute_cmvn", [d], {}, [f"{d / 'feats.scp'}:2: cannot read the matrix of 's1_b' at {ark}:{offset}"]


def feats_scp_command_in_cmvn(tmp):
    d, ark = dump_dir(tmp)
    (d / "feats.scp").write_text(f"s1_a touch {tmp / 'ran'}; cat {ark} |\ns1_b {ark}:5\n")
    return "compute_cmvn", [d], {}, [f"{d / 'feats.scp'}:1: entry 's1_a' is a shell command"]


def timit_tree(tmp, names: list[str]) -> Path:
    for part, spk in (("TRAIN", "FABC0"), ("TEST", DEV_SPEAKERS[0].upper()), ("TEST", CORE_TEST_SPEAKERS[0].upper())):
        spk_dir = tmp / "TIMIT" / part / "DR1" / spk
        spk_dir.mkdir(parents=True)
        for name in names:
            sf.write(spk_dir / f"{name}.WAV", np.zeros(1600, dtype=np.int16), 16000, format="NIST", subtype="PCM_16")
            (spk_dir / f"{name}.PHN").write_text("0 800 h#\n800 1600 ae\n")
    return tmp / "TIMIT"


def timit_case_clash(tmp):
    root = timit_tree(tmp, ["SI465", "SX1"])
    spk = root / "TRAIN" / "DR1" / "FABC0"
    (spk / "si465.wav").write_bytes((spk / "SI465.WAV").read_bytes())
    return "prepare_timit", ["--timit", root, "--out", tmp / "out"], {}, [f"{spk}: SI465.WAV and si465.wav differ "
                                                                          "only in case"]


def timit_bad_phn(tmp):
    root = timit_tree(tmp, ["SI465", "SX1"])
    phn = root / "TEST" / "DR1" / DEV_SPEAKERS[0].upper() / "SX1.PHN"
    phn.write_text("0 800 h#\n800 1600 zz\n")
    return "prepare_timit", ["--timit", root, "--out", tmp / "out"], {}, [f"{phn}:2: unknown phone 'zz'"]


def latin1_pairs(tmp):
    tsv = tmp / "deu-eng.tsv"
    tsv.write_bytes("Hi.\tHallo!\nBye.\tTschüss!\nCheese.\tKäse.\nNice.\tSchön.\n".encode("latin-1"))
    return "prepare_parallel", ["--pairs", tsv, "--src", "deu", "--tgt", "eng", "--out", tmp / "out"], {}, [
        f"{tsv}:2: invalid UTF-8 byte 0xfc", f"{tsv} is not UTF-8", "--encoding latin-1"]


def stray_tab(tmp):
    tsv = tmp / "deu-eng.tsv"
    tsv.write_text("Hi.\tHallo!\nOh\tno.\tAch nein.\nGo.\tGeh.\n", encoding="utf-8")
    return "prepare_parallel", ["--pairs", tsv, "--src", "deu", "--tgt", "eng", "--out", tmp / "out"], {}, [
        f"{tsv}:2: 3 tab-separated columns, but line 1 has 2"]


CASES = [text_not_utf8, utt2spk_not_utf8_fix, wav_scp_command_refused, feats_scp_command, unknown_phone,
         truncated_pipe, stereo, pipes_off_in_extraction, wav_scp_not_utf8_in_extraction, truncated_ark,
         feats_scp_command_in_cmvn, timit_case_clash, timit_bad_phn, latin1_pairs, stray_tab]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_bad_input_fails_with_one_clear_message(tmp_path, case):
    tool, args, env, expected = case(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", **env}
    proc = subprocess.run([sys.executable, "-m", f"toolkit.bin.{tool}", *map(str, args)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    for text in expected:
        assert text in proc.stderr, proc.stderr
    assert not (tmp_path / "ran").exists()  # no refused command ran
