#!/usr/bin/env python3
"""Write the embedded headline-generation sample (lead sentence <TAB> headline) from seeded templates.

    python local/make_sample.py --out local/sample.tsv --pairs 800 --seed 0

Every line is generated here from hand-written wire-style templates (no news text is copied), so the
recipe runs offline and the sample is free to redistribute. Company and person names are built from
random syllables and amounts are random numbers, so most of them occur once or twice in the whole
sample: a headline can only get them right by copying them from its lead sentence, which is what the
pointer-generator is for. The lead adds dates, attributions and detail that the headline leaves out,
and the headline rewords the event ("agreed to acquire" -> "to buy"), so copying alone is not enough
either. A pipeline check, not a benchmark.
"""
import argparse
import random
from pathlib import Path

SYLLABLES = ("ka", "lo", "ver", "tan", "mi", "dro", "sel", "ba", "nor", "ti", "quel", "ra", "zen", "po", "lin",
             "gar", "su", "mon", "de", "vi", "hal", "cor", "ex", "bre", "fin")
SUFFIXES = ("Corp", "Inc", "Group", "Industries", "Holdings", "Systems")
COUNTRIES = ("Brazil", "Japan", "France", "Canada", "Mexico", "Norway", "Kenya", "Chile", "India", "Spain")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
MONTHS = ("January", "February", "March", "April", "May", "June")
GOODS = ("coffee", "copper", "wheat", "sugar", "cotton", "cocoa", "steel", "rubber")
ROLES = ("president", "chief executive", "chairman", "finance director")


def name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def company(rng: random.Random) -> str:
    return f"{name(rng)} {rng.choice(SUFFIXES)}"


def person(rng: random.Random) -> str:
    return f"{name(rng)} {name(rng)}"


def amount(rng: random.Random) -> str:
    return str(rng.choice((rng.randint(2, 99), rng.randint(100, 950), round(rng.uniform(1, 9), 1))))


def pair(rng: random.Random) -> tuple[str, str]:
    """One (lead, headline)."""
    a, b, c, p = company(rng), company(rng), rng.choice(COUNTRIES), person(rng)
    n, m, day, month, good = amount(rng), amount(rng), rng.choice(DAYS), rng.choice(MONTHS), rng.choice(GOODS)
    pct, role = rng.randint(2, 40), rng.choice(ROLES)
    kind = rng.randrange(8)
    if kind == 0:
        return (f"{a} said on {day} it has agreed to acquire {b} for {n} mln dlrs in cash , subject to approval "
                f"by {b} shareholders .", f"{a} to buy {b} for {n} mln dlrs")
    if kind == 1:
        up = rng.random() < 0.5
        return (f"{a} said its first quarter net profit {'rose' if up else 'fell'} {pct} pct to {n} mln dlrs "
                f"from {m} mln dlrs a year earlier , citing {'higher' if up else 'lower'} sales .",
                f"{a} first quarter profit {'up' if up else 'down'} {pct} pct")
    if kind == 2:
        return (f"The central bank of {c} cut its discount rate by {rng.randint(1, 3)} points to {pct} pct "
                f"effective {day} , a bank spokesman said .", f"{c} cuts discount rate to {pct} pct")
    if kind == 3:
        return (f"{a} named {p} as its new {role} , replacing the founder who retires in {month} , "
                f"the company said .", f"{a} names {p} {role}")
    if kind == 4:
        return (f"{c} {good} output is expected to reach {n} mln tonnes this season , up from {m} mln last "
                f"season , the agriculture ministry said on {day} .", f"{c} {good} output seen at {n} mln tonnes")
    if kind == 5:
        return (f"Workers at {a} in {c} went on strike on {day} demanding a {pct} pct pay rise , a union "
                f"official said .", f"strike hits {a} in {c}")
    if kind == 6:
        return (f"{a} raised its quarterly dividend to {rng.randint(5, 90)} cts a share from "
                f"{rng.randint(5, 90)} cts , payable in {month} to holders of record .", f"{a} raises dividend")
    return (f"{c} finance minister {p} said on {day} the government would sell its {pct} pct stake in {a} "
            f"before the end of {month} .", f"{c} to sell {a} stake")


def generate(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """`n` distinct (lead, headline) pairs."""
    rng, seen, out = random.Random(seed), set(), []
    while len(out) < n:
        lead, headline = pair(rng)
        if lead not in seen:
            seen.add(lead)
            out.append((lead, headline))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(Path(__file__).with_name("sample.tsv")))
    p.add_argument("--pairs", type=int, default=800)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    Path(args.out).write_text("".join(f"{lead}\t{headline}\n" for lead, headline in generate(args.pairs, args.seed)),
                              encoding="utf-8")


if __name__ == "__main__":
    main()
