"""Prompt text of the mini TIMIT corpus, written for this project.

Two fixed "SA" sentences and a seeded template grammar over a hand-written vocabulary. Words were
chosen for phone coverage (zh in measure/beige, oy in noisy/coin, flaps in water/butter, syllabic
l/n/m in bottle/button/system, glottal stop in button/mitten, th/dh, ng in kingdom/string, ch/jh,
h between vowels in ahead/behind, u after coronals in two/suit/juice ...), and every word is checked against espeak-ng in
each accent the corpus uses (see tests/test_mini_timit.py). Words whose first sound espeak may drop
(`huge` in the New York accent) are left out, since espeak then loses the word boundary.
"""
from __future__ import annotations

import random
import re

# Read by every speaker (like TIMIT's SA1/SA2, but our own text).
SA_SENTENCES = (
    "Judge Thelma measured the beige garage with a thin yellow cord.",
    "Ask the noisy boy to push the wooden wagon out of the shady yard.",
)

NAMES = ("Judy", "George", "Thelma", "Oscar", "Rosa", "Vince", "Martha", "Eugene", "Sheila", "Walter",
         "Nora", "Howard", "Joyce", "Arthur", "Beth", "Chester", "Maggie", "Douglas", "Ivy", "Roger")

NOUNS = ("garage", "treasure", "cushion", "pillow", "wagon", "bottle", "kitten", "button", "garden",
         "mountain", "cotton", "rhythm", "prism", "kettle", "pebble", "puzzle", "turtle", "basket",
         "jacket", "bridge", "village", "church", "kitchen", "teacher", "cheese", "chair", "house",
         "mouth", "cloud", "tower", "flower", "owl", "cow", "boy", "toy", "coin", "oil", "voice", "book",
         "sugar", "cookie", "wool", "hook", "bird", "shirt", "nurse", "worm", "girl", "thumb", "feather",
         "mother", "father", "brother", "path", "tooth", "yard", "zebra", "lizard", "oyster", "shadow",
         "ladder", "water", "butter", "letter", "paper", "winter", "city", "party", "student", "lesson",
         "noodle", "tube", "juice", "suit", "bottom", "muffin", "orange", "engine", "window", "doctor",
         "pocket", "blanket", "hammer", "carpet", "needle", "saddle", "novel", "lemon", "dragon",
         "ocean", "island", "valley", "forest", "meadow", "harbor", "market", "station", "pencil",
         "mitten", "curtain", "kingdom", "system", "blossom", "ring", "king", "string", "finger",
         "uncle", "jungle", "spring")

ADJECTIVES = ("beige", "brown", "cheap", "young", "yellow", "thick", "thin", "smooth", "rough", "noisy",
              "quiet", "tiny", "shiny", "muddy", "purple", "golden", "wooden", "heavy", "little",
              "gentle", "sharp", "fresh", "royal", "usual", "soggy", "fuzzy", "crooked", "narrow",
              "pleasant", "foolish", "cheerful", "awkward", "dusty", "juicy", "bitter", "sudden",
              "bright", "clever", "humble", "eager", "lazy", "careful", "wet", "loud", "proud", "cloudy",
              "warm", "cool", "ancient", "modern", "empty", "hollow", "silver", "shaggy", "greasy",
              "rotten", "strong", "long", "random", "angry")

VERBS_PAST = ("measured", "pushed", "pulled", "carried", "dropped", "grabbed", "watched", "washed",
              "judged", "chose", "bought", "caught", "brought", "found", "showed", "borrowed", "hid",
              "fixed", "painted", "dragged", "poured", "chased", "touched", "noticed", "enjoyed",
              "avoided", "folded", "cooked", "shook", "buried", "stirred", "cleaned", "polished",
              "wrapped", "visited", "repaired", "admired", "ignored", "followed", "stored")

VERBS_BASE = ("measure", "push", "pull", "carry", "drop", "grab", "watch", "wash", "judge", "choose",
              "buy", "catch", "bring", "find", "show", "borrow", "hide", "fix", "paint", "drag", "pour",
              "chase", "touch", "notice", "enjoy", "avoid", "fold", "cook", "shake", "bury", "stir",
              "clean", "polish", "wrap", "visit", "repair", "admire", "follow", "store", "check")

PREPOSITIONS = ("in", "on", "under", "behind", "beside", "near", "above", "inside", "across",
                "through", "toward", "beneath", "over", "around", "along", "ahead of")

TIMES = ("every morning", "after lunch", "last year", "at noon", "before dawn", "on Thursday",
         "yesterday", "this evening", "once again", "all summer", "twice a week", "at midnight",
         "in the autumn", "during the storm", "until Tuesday", "with pleasure", "by the shore",
         "every evening", "in the spring")

ADVERBS = ("quickly", "slowly", "gladly", "rarely", "usually", "carefully", "nearly", "loudly",
           "quietly", "eagerly", "happily", "gently", "perhaps")

PRONOUNS = ("she", "he", "they", "we", "you", "I")
OBJECTS = ("her", "him", "them", "us", "it")
MODALS = ("should", "could", "would", "might", "must", "will", "can't", "won't", "didn't")
DETERMINERS = ("the", "a", "this", "that", "my", "your", "our", "her", "his", "their", "every", "each")
INTENSIFIERS = ("very", "rather", "quite", "too", "so", "truly")

TEMPLATES = (
    "{Det} {adj} {noun} {vpast} {prep} the {noun}.",
    "{Name} {vpast} {det} {adj} {noun} {time}.",
    "Did {det} {noun} {vbase} the {adj} {noun}?",
    "{Pron} {modal} {vbase} {det} {noun} {adv}.",
    "A {adj} {noun} and a {adj} {noun} {vpast} {time}.",
    "{Name}'s {noun} was {intens} {adj} {time}.",
    "Please {vbase} the {noun} {prep} the {adj} {noun}.",
    "Why did {name} {vbase} {det} {noun} {prep} the {noun}?",
    "{Det} {noun} {vpast} {obj} {adv}, and then {pron} {vpast} {det} {noun}.",
    "When the {noun} {vpast}, {name} {vpast} the {adj} {noun}.",
    "{Name} and {name} {vpast} a {adj} {noun} {prep} the {noun}.",
    "The {noun} ahead of the {noun} looked {intens} {adj}.",
)

_SLOTS = {"det": DETERMINERS, "adj": ADJECTIVES, "noun": NOUNS, "vpast": VERBS_PAST, "vbase": VERBS_BASE,
          "prep": PREPOSITIONS, "time": TIMES, "adv": ADVERBS, "pron": PRONOUNS, "obj": OBJECTS,
          "modal": MODALS, "name": NAMES, "intens": INTENSIFIERS}


def vocabulary() -> list[str]:
    """Every word the sentences can contain, lower case, sorted."""
    words = {w for sentence in SA_SENTENCES for w in words_of(sentence)}
    for template in TEMPLATES:
        words.update(w for w in words_of(template) if "{" not in w)
    for options in _SLOTS.values():
        for option in options:
            words.update(words_of(option))
    words.update(words_of(" ".join(f"{n}'s" for n in NAMES)))
    return sorted(words)


def words_of(text: str) -> list[str]:
    """Words as TIMIT's .WRD files spell them: lower case, punctuation except apostrophes removed."""
    out = []
    for token in text.split():
        word = token.strip(".,;:?!\"").lower()
        if word:
            out.append(word)
    return out


def generate_sentences(n: int, seed: int, exclude: set[str] | frozenset[str] = frozenset(),
                       templates: tuple[str, ...] = TEMPLATES) -> list[str]:
    """`n` distinct sentences from the template grammar, deterministic in `seed`.

    Sentences in `exclude` (and the SA sentences) are never returned. `templates` may be any whose
    `{slot}`s are the grammar's (e.g. shorter ones).
    """
    rng = random.Random(seed)
    seen = set(exclude) | set(SA_SENTENCES)
    out: list[str] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 100 * n + 1000:
            raise ValueError(f"cannot generate {n} distinct sentences (got {len(out)})")
        sentence = _fill(rng.choice(templates), rng)
        if sentence not in seen:
            seen.add(sentence)
            out.append(sentence)
    return out


# "a" -> "an" before a vowel sound; "usual" starts with a y sound.
_AN = re.compile(r"\b([Aa]) (?=[aeiouAEIOU](?!sual))")


def _fill(template: str, rng: random.Random) -> str:
    """Replace each `{slot}` (capitalised slot -> capitalised word) with a random choice.

    A slot that occurs twice gets two different words.
    """
    parts = template.split("{")
    out = [parts[0]]
    used: set[str] = set()
    for part in parts[1:]:
        slot, rest = part.split("}", 1)
        word = rng.choice([w for w in _SLOTS[slot.lower()] if w not in used])
        used.add(word)
        out.append((word[0].upper() + word[1:]) if slot[0].isupper() else word)
        out.append(rest)
    return _AN.sub(r"\1n ", "".join(out))
