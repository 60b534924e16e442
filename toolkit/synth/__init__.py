"""Synthetic test and demo corpora, spoken by espeak-ng: not part of the toolkit's API.

They let the recipes and tests run offline, without a licence, on a laptop CPU:

    espeak               ctypes wrapper around the espeak-ng library (audio + phoneme timings)
    espeak_timit_phones  espeak phonemes -> TIMIT phone segments
    sentences            the prompt grammar and vocabulary
    mini_timit           "mini TIMIT": a corpus in TIMIT's LDC layout (toolkit.bin.make_mini_timit)
    mini_speechocean     a corpus in the speechocean762 layout (toolkit.bin.make_mini_speechocean)

Corpus readers and protocols (the real TIMIT, speechocean762, parallel text) live in `toolkit.corpora`.
"""
