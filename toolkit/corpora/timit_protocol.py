"""The TIMIT phone-recognition protocol as data: speaker lists and the 60 -> 48 -> 39 phone map.

Facts as used by Kaldi egs/timit/s5, SpeechBrain and ESPnet: SA sentences are excluded everywhere,
train = every TRAIN/ speaker (462 / 3696 utterances), dev = 50 TEST/ speakers (400), core test =
24 TEST/ speakers (192). Training uses 48 phones, scoring folds to 39 with silence scored; `q` is deleted.
"""

DEV_SPEAKERS = tuple("""
faks0 fdac1 fjem0 mgwt0 mjar0 mmdb1 mmdm2 mpdf0 fcmh0 fkms0 mbdg0 mbwm0 mcsh0 fadg0
fdms0 fedw0 mgjf0 mglb0 mrtk0 mtaa0 mtdt0 mthc0 mwjg0 fnmr0 frew0 fsem0 mbns0 mmjr0
mdls0 mdlf0 mdvc0 mers0 fmah0 fdrw0 mrcs0 mrjm4 fcal1 mmwh0 fjsj0 majc0 mjsw0 mreb0
fgjd0 fjmg0 mroa0 mteb0 mjfc0 mrjr0 fmml0 mrws1
""".split())

# Listed by dialect region, three speakers per region DR1..DR8.
CORE_TEST_SPEAKERS = tuple("""
mdab0 mwbt0 felc0 mtas1 mwew0 fpas0 mjmp0 mlnt0 fpkt0 mlll0 mtls0 fjlm0 mbpm0 mklt0
fnlp0 mcmj0 mjdh0 fmgd0 mgrt0 mnjm0 fdhc0 mjln0 mpam0 fmld0
""".split())

# 61-symbol TIMIT label -> (48-phone training label, 39-phone scoring label); q maps to None (deleted).
_PHONE_MAP_TABLE = """
aa aa aa    ae ae ae    ah ah ah    ao ao aa    aw aw aw    ax ax ah
ax-h ax ah  axr er er   ay ay ay    b b b       bcl vcl sil ch ch ch
d d d       dcl vcl sil dh dh dh    dx dx dx    eh eh eh    el el l
em m m      en en n     eng ng ng   epi epi sil er er er    ey ey ey
f f f       g g g       gcl vcl sil h# sil sil  hh hh hh    hv hh hh
ih ih ih    ix ix ih    iy iy iy    jh jh jh    k k k       kcl cl sil
l l l       m m m       n n n       ng ng ng    nx n n      ow ow ow
oy oy oy    p p p       pau sil sil pcl cl sil  r r r
s s s       sh sh sh    t t t       tcl cl sil  th th th    uh uh uh
uw uw uw    ux uw uw    v v v       w w w       y y y       z z z
zh zh sh
"""


def _parse_map() -> dict[str, tuple[str, str] | None]:
    words = _PHONE_MAP_TABLE.split()
    table: dict[str, tuple[str, str] | None] = {
        words[i]: (words[i + 1], words[i + 2]) for i in range(0, len(words), 3)}
    table["q"] = None
    return table


PHONE_MAP: dict[str, tuple[str, str] | None] = _parse_map()
PHONES_61 = tuple(sorted(PHONE_MAP))
PHONES_48 = tuple(sorted({v[0] for v in PHONE_MAP.values() if v}))
PHONES_39 = tuple(sorted({v[1] for v in PHONE_MAP.values() if v}))
MAP_48_TO_39 = {v[0]: v[1] for v in PHONE_MAP.values() if v}
SILENCE_61 = ("h#", "pau", "epi")

assert len(PHONES_61) == 61 and len(PHONES_48) == 48 and len(PHONES_39) == 39
assert len(DEV_SPEAKERS) == 50 and len(CORE_TEST_SPEAKERS) == 24
