#!/usr/bin/env python3
"""Write the embedded German-English smoke-test corpus from a small seeded template grammar.

    python local/make_smoke_test.py --out local/smoke_test.tsv --pairs 600 --seed 0

Every sentence is generated here from a hand-written lexicon and a handful of templates (no
corpus text is copied), so the recipe runs offline and the sample is free to redistribute. The
grammar is small but not trivial for a translation model: German verb-second order after a
fronted adverb, verb-final infinitives after a modal, `nicht`/`kein` negation against English
do-support, accusative article and adjective endings, `a`/`an`, and irregular conjugations.

Output: Anki/Tatoeba layout, ``English<TAB>German`` per line, distinct German sentences, in
generation order. It is a smoke test of the pipeline, not a benchmark.
"""
import argparse
import random
from pathlib import Path

PERSONS = ("1s", "2s", "3s", "1p", "2p", "3p")

# Subjects: German nominative, English, person.
PRONOUNS = [("ich", "I", "1s"), ("du", "you", "2s"), ("er", "he", "3s"), ("sie", "she", "3s"),
            ("wir", "we", "1p"), ("ihr", "you", "2p"), ("sie", "they", "3p")]
NOUN_SUBJECTS = [("der Hund", "the dog"), ("die Katze", "the cat"), ("der Mann", "the man"),
                 ("die Frau", "the woman"), ("das Kind", "the child"), ("der Junge", "the boy"),
                 ("das Mädchen", "the girl"), ("der Arzt", "the doctor"), ("die Lehrerin", "the teacher"),
                 ("mein Bruder", "my brother"), ("meine Schwester", "my sister"), ("Tom", "Tom"),
                 ("Maria", "Mary")]
PLURAL_SUBJECTS = [("die Kinder", "the children"), ("meine Eltern", "my parents"),
                   ("die Studenten", "the students")]
ANIMATE = {"the dog", "the cat"}

# Verbs: German forms by person (ich du er wir ihr sie), infinitive, English base and 3rd singular,
# and for transitive verbs the object classes they take.
TRANSITIVE = [
    ("sehe siehst sieht sehen seht sehen", "sehen", "see", "sees", {"thing", "read", "food", "animal"}),
    ("lese liest liest lesen lest lesen", "lesen", "read", "reads", {"read"}),
    ("kaufe kaufst kauft kaufen kauft kaufen", "kaufen", "buy", "buys", {"thing", "read", "food", "drink"}),
    ("esse isst isst essen esst essen", "essen", "eat", "eats", {"food"}),
    ("trinke trinkst trinkt trinken trinkt trinken", "trinken", "drink", "drinks", {"drink"}),
    ("suche suchst sucht suchen sucht suchen", "suchen", "look for", "looks for", {"thing", "read", "animal"}),
    ("finde findest findet finden findet finden", "finden", "find", "finds", {"thing", "read", "animal"}),
    ("brauche brauchst braucht brauchen braucht brauchen", "brauchen", "need", "needs", {"thing", "food", "drink"}),
    ("mag magst mag mögen mögt mögen", "mögen", "like", "likes", {"food", "drink", "animal", "thing"}),
    ("habe hast hat haben habt haben", "haben", "have", "has", {"thing", "animal", "read"}),
    ("schreibe schreibst schreibt schreiben schreibt schreiben", "schreiben", "write", "writes", {"letter"}),
]
INTRANSITIVE = [
    ("schlafe schläfst schläft schlafen schlaft schlafen", "schlafen", "sleep", "sleeps"),
    ("laufe läufst läuft laufen lauft laufen", "laufen", "run", "runs"),
    ("arbeite arbeitest arbeitet arbeiten arbeitet arbeiten", "arbeiten", "work", "works"),
    ("lache lachst lacht lachen lacht lachen", "lachen", "laugh", "laughs"),
    ("singe singst singt singen singt singen", "singen", "sing", "sings"),
    ("warte wartest wartet warten wartet warten", "warten", "wait", "waits"),
    ("schwimme schwimmst schwimmt schwimmen schwimmt schwimmen", "schwimmen", "swim", "swims"),
    ("tanze tanzt tanzt tanzen tanzt tanzen", "tanzen", "dance", "dances"),
]
WOLLEN = "will willst will wollen wollt wollen"
SEIN = ("bin bist ist sind seid sind", {"1s": "am", "3s": "is"})

# Objects: gender (m/n/f, or "mass" for article-less drinks), German noun, English noun, class.
OBJECTS = [
    ("m", "Apfel", "apple", "food"), ("m", "Kuchen", "cake", "food"), ("n", "Brot", "bread", "food"),
    ("n", "Ei", "egg", "food"), ("f", "Banane", "banana", "food"), ("f", "Suppe", "soup", "food"),
    ("m", "Ball", "ball", "thing"), ("m", "Schlüssel", "key", "thing"), ("m", "Hut", "hat", "thing"),
    ("n", "Fahrrad", "bicycle", "thing"), ("n", "Auto", "car", "thing"), ("n", "Haus", "house", "thing"),
    ("f", "Tasche", "bag", "thing"), ("f", "Lampe", "lamp", "thing"), ("f", "Uhr", "watch", "thing"),
    ("n", "Buch", "book", "read"), ("f", "Zeitung", "newspaper", "read"), ("m", "Brief", "letter", "letter"),
    ("m", "Hund", "dog", "animal"), ("f", "Katze", "cat", "animal"), ("n", "Pferd", "horse", "animal"),
    ("mass", "Wasser", "water", "drink"), ("mass", "Kaffee", "coffee", "drink"), ("mass", "Tee", "tea", "drink"),
    ("mass", "Milch", "milk", "drink"), ("mass", "Saft", "juice", "drink"),
]
# Attributive adjectives: stem, English; accusative endings depend on the determiner.
ADJECTIVES = [("groß", "big"), ("klein", "small"), ("neu", "new"), ("alt", "old"), ("rot", "red"),
              ("grün", "green"), ("schön", "beautiful")]
PREDICATES = [("müde", "tired"), ("glücklich", "happy"), ("hungrig", "hungry"), ("krank", "sick"),
              ("jung", "young"), ("traurig", "sad")]
MASS_GENDER = {"Wasser": "n", "Kaffee": "m", "Tee": "m", "Milch": "f", "Saft": "m"}

# Accusative determiners: kind -> gender -> (German article, adjective ending with it), English.
DETERMINERS = {
    "def": ({"m": ("den", "en"), "n": ("das", "e"), "f": ("die", "e")}, "the"),
    "indef": ({"m": ("einen", "en"), "n": ("ein", "es"), "f": ("eine", "e")}, "a"),
    "my": ({"m": ("meinen", "en"), "n": ("mein", "es"), "f": ("meine", "e")}, "my"),
    "your": ({"m": ("deinen", "en"), "n": ("dein", "es"), "f": ("deine", "e")}, "your"),
}
KEIN = {"m": ("keinen", "en"), "n": ("kein", "es"), "f": ("keine", "e")}

FRONT_ADVERBS = [("heute", "today"), ("jetzt", "now"), ("am Morgen", "in the morning"),
                 ("am Abend", "in the evening")]
FREQUENCY = [("oft", "often"), ("immer", "always"), ("manchmal", "sometimes")]
PLACES = [("im Garten", "in the garden"), ("im Park", "in the park"), ("in der Küche", "in the kitchen"),
          ("zu Hause", "at home"), ("in der Schule", "at school")]


def a_or_an(words: str) -> str:
    return "an" if words[0] in "aeiou" else "a"


def cap(text: str) -> str:
    return text[0].upper() + text[1:]


class Grammar:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def choice(self, seq):
        return self.rng.choice(seq)

    def subject(self, allow_animals: bool = True) -> tuple[str, str, str]:
        """(German, English, person)."""
        r = self.rng.random()
        if r < 0.4:
            return self.choice(PRONOUNS)
        if r < 0.85:
            pool = [s for s in NOUN_SUBJECTS if allow_animals or s[1] not in ANIMATE]
            de, en = self.choice(pool)
            return de, en, "3s"
        de, en = self.choice(PLURAL_SUBJECTS)
        return de, en, "3p"

    def noun_phrase(self, classes: set[str], negated: bool) -> tuple[str, str, bool]:
        """Accusative object: (German, English, definite); under `negated` an indefinite one takes `kein`."""
        gender, noun, en_noun, _ = self.choice([o for o in OBJECTS if o[3] in classes])
        if gender == "mass":
            if not negated and self.rng.random() < 0.3:
                art, _ = DETERMINERS["def"][0][MASS_GENDER[noun]]
                return f"{art} {noun}", f"the {en_noun}", True
            if negated:
                return f"{KEIN[MASS_GENDER[noun]][0]} {noun}", en_noun, False
            return noun, en_noun, False
        kind = self.choice(["def", "def", "indef", "indef", "my", "your"])
        adj = self.choice(ADJECTIVES) if self.rng.random() < 0.35 else None
        table, en_det = DETERMINERS[kind]
        use_kein = negated and kind == "indef"
        art, ending = (KEIN if use_kein else table)[gender]
        de_words = [art] + ([adj[0] + ending] if adj else []) + [noun]
        en_rest = f"{adj[1]} {en_noun}" if adj else en_noun
        if kind == "indef":
            en_det = a_or_an(en_rest)
        return " ".join(de_words), f"{en_det} {en_rest}", kind != "indef"

    @staticmethod
    def english_verb(base: str, third: str, person: str) -> str:
        return third if person == "3s" else base

    @staticmethod
    def do(person: str) -> str:
        return "does" if person == "3s" else "do"

    def sentence(self) -> tuple[str, str]:
        """One (German, English) pair from a randomly chosen template."""
        template = self.choice(["plain", "plain", "front", "negation", "question", "modal", "frequency",
                                "copula"])
        subj_de, subj_en, person = self.subject()
        p = PERSONS.index(person)
        place = self.choice(PLACES) if self.rng.random() < 0.25 else None
        if template == "copula":
            sein_de = SEIN[0].split()[p]
            sein_en = SEIN[1].get(person, "are")
            adj_de, adj_en = self.choice(PREDICATES)
            kind = self.choice(["plain", "plain", "negation", "question"])
            if kind == "question":
                return f"{cap(sein_de)} {subj_de} {adj_de}?", f"{cap(sein_en)} {subj_en} {adj_en}?"
            neg_de, neg_en = (" nicht", " not") if kind == "negation" else ("", "")
            return f"{cap(subj_de)} {sein_de}{neg_de} {adj_de}.", f"{cap(subj_en)} {sein_en}{neg_en} {adj_en}."

        transitive = self.rng.random() < 0.65
        if transitive:
            forms, inf, base, third, classes = self.choice(TRANSITIVE)
            obj_de, obj_en, definite = self.noun_phrase(classes, negated=template == "negation")
        else:
            forms, inf, base, third = self.choice(INTRANSITIVE)
            obj_de = obj_en = ""
            definite = True
        verb_de = forms.split()[p]
        verb_en = self.english_verb(base, third, person)
        obj_de_sp = f" {obj_de}" if obj_de else ""
        obj_en_sp = f" {obj_en}" if obj_en else ""
        place_de = f" {place[0]}" if place else ""
        place_en = f" {place[1]}" if place else ""

        if template == "front":
            adv_de, adv_en = self.choice(FRONT_ADVERBS)
            return (f"{cap(adv_de)} {verb_de} {subj_de}{obj_de_sp}{place_de}.",
                    f"{cap(adv_en)} {subj_en} {verb_en}{obj_en_sp}{place_en}.")
        if template == "negation":
            if not transitive:          # er schläft nicht (im Garten)
                de_rest = f" nicht{place_de}"
            elif definite:              # er sieht den Hund (im Garten) nicht
                de_rest = f"{obj_de_sp}{place_de} nicht"
            else:                       # er sieht keinen Hund (im Garten)
                de_rest = f"{obj_de_sp}{place_de}"
            return (f"{cap(subj_de)} {verb_de}{de_rest}.",
                    f"{cap(subj_en)} {self.do(person)} not {base}{obj_en_sp}{place_en}.")
        if template == "question":
            return (f"{cap(verb_de)} {subj_de}{obj_de_sp}{place_de}?",
                    f"{cap(self.do(person))} {subj_en} {base}{obj_en_sp}{place_en}?")
        if template == "modal":
            modal_de = WOLLEN.split()[p]
            modal_en = "wants" if person == "3s" else "want"
            return (f"{cap(subj_de)} {modal_de}{obj_de_sp}{place_de} {inf}.",
                    f"{cap(subj_en)} {modal_en} to {base}{obj_en_sp}{place_en}.")
        if template == "frequency":
            freq_de, freq_en = self.choice(FREQUENCY)
            return (f"{cap(subj_de)} {verb_de} {freq_de}{obj_de_sp}{place_de}.",
                    f"{cap(subj_en)} {freq_en} {verb_en}{obj_en_sp}{place_en}.")
        return (f"{cap(subj_de)} {verb_de}{obj_de_sp}{place_de}.",
                f"{cap(subj_en)} {verb_en}{obj_en_sp}{place_en}.")


def generate(n_pairs: int, seed: int) -> list[tuple[str, str]]:
    """`n_pairs` (German, English) pairs with distinct German sides, reproducible from `seed`."""
    grammar = Grammar(random.Random(seed))
    pairs: dict[str, str] = {}
    for _ in range(100 * n_pairs):
        de, en = grammar.sentence()
        pairs.setdefault(de, en)
        if len(pairs) == n_pairs:
            return list(pairs.items())
    raise RuntimeError(f"the grammar produced only {len(pairs)} distinct sentences")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("smoke_test.tsv"))
    parser.add_argument("--pairs", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    lines = [f"{en}\t{de}\n" for de, en in generate(args.pairs, args.seed)]
    args.out.write_text("".join(lines), encoding="utf-8")
    print(f"wrote {len(lines)} pairs to {args.out}")


if __name__ == "__main__":
    main()
