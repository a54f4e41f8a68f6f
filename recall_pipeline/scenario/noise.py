"""Slips of the hand and of the scanner, applied to the few strings a mask selected.

Each function takes the selected strings and draws all its random numbers at once, so the result
depends only on the generator's state; the per-string work is a short Python loop over a few
percent of the lines.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from recall_pipeline.scenario.written_forms import KEY_NEIGHBOURS, OCR_PAIRS

_LETTERS = re.compile(r"[A-Z]")


def keyer_typo(words, rng: np.random.Generator, edits: int = 1) -> list[str]:
    """`edits` slips per word: a neighbouring key, a dropped, doubled or swapped letter.

    The first letter is kept (people and keyers rarely get it wrong) and only letters are
    touched; words of fewer than 5 letters are returned unchanged.
    """
    words = list(words)
    u = rng.random((len(words), edits, 3))
    out = []
    for word, draws in zip(words, u, strict=True):
        for kind_u, pos_u, key_u in draws:
            word = _one_slip(word, kind_u, pos_u, key_u)
        out.append(word)
    return out


def _one_slip(word: str, kind_u: float, pos_u: float, key_u: float) -> str:
    spots = [m.start() for m in _LETTERS.finditer(word) if m.start() > 0]
    if sum(c.isalpha() for c in word) < 5 or not spots:
        return word
    i = spots[int(pos_u * len(spots))]
    c = word[i]
    if kind_u < 0.4:
        near = KEY_NEIGHBOURS.get(c, "")
        if near:
            return word[:i] + near[int(key_u * len(near))] + word[i + 1 :]
        return word
    if kind_u < 0.6:
        return word[:i] + word[i + 1 :]
    if kind_u < 0.75:
        return word[:i] + c + word[i:]
    # Swap with the next letter; a pair of equal letters would not change: drop one instead.
    if i + 1 < len(word) and word[i + 1].isalpha() and word[i + 1] != c:
        return word[:i] + word[i + 1] + c + word[i + 2 :]
    return word[:i] + word[i + 1 :]


def ocr_misread(texts, rng: np.random.Generator) -> list[str]:
    """One OCR confusion per text (O↔0, I↔1, RN↔M ...), where the text has a candidate."""
    texts = list(texts)
    u = rng.random(len(texts))
    out = []
    for text, draw in zip(texts, u, strict=True):
        spots = []
        upper = text.upper()
        for a, b in OCR_PAIRS:
            for src, dst in ((a, b), (b, a)):
                start = upper.find(src)
                while start >= 0:
                    spots.append((start, len(src), dst))
                    start = upper.find(src, start + 1)
        if not spots:
            out.append(text)
            continue
        start, length, dst = spots[int(draw * len(spots))]
        # A misread letter keeps the case of the page.
        if text[start : start + length].islower():
            dst = dst.lower()
        out.append(text[:start] + dst + text[start + length :])
    return out


def digit_slip(numbers, rng: np.random.Generator) -> list[str]:
    """A house number with two adjacent digits swapped, or one digit hit on a neighbour key."""
    numbers = list(numbers)
    u = rng.random((len(numbers), 3))
    out = []
    for number, (kind_u, pos_u, key_u) in zip(numbers, u, strict=True):
        digits = [i for i, c in enumerate(number) if c.isdigit()]
        # A house number never starts with 0, so no swap may bring one to the front.
        pairs = [
            i
            for i in digits[:-1]
            if i + 1 in digits
            and number[i] != number[i + 1]
            and not (i == digits[0] and number[i + 1] == "0")
        ]
        if pairs and kind_u < 0.6:
            i = pairs[int(pos_u * len(pairs))]
            out.append(number[:i] + number[i + 1] + number[i] + number[i + 2 :])
            continue
        if not digits:
            out.append(number)
            continue
        i = digits[int(pos_u * len(digits))]
        near = KEY_NEIGHBOURS[number[i]]
        replacement = near[int(key_u * len(near))]
        if i == digits[0] and replacement == "0":
            replacement = number[i]  # a house number does not start with 0: keep it
        out.append(number[:i] + replacement + number[i + 1 :])
    return out


_DIGIT_LETTERS = re.compile(r"(?<=\d)([A-Z]+)")


def title_case(text: pd.Series) -> pd.Series:
    """Title Case as a person types it: "6th St", "Apt24b", "De La Cruz" (not str.title's "6Th")."""
    return text.str.title().str.replace(_DIGIT_LETTERS, lambda m: m.group(1).lower(), regex=True)


def apply_case(text: pd.Series, cases: np.ndarray) -> pd.Series:
    """upper / title / lower per row, as `cases` says."""
    out = text.copy()
    upper = cases == "upper"
    title = cases == "title"
    lower = cases == "lower"
    if upper.any():
        out[upper] = text[upper].str.upper()
    if title.any():
        out[title] = title_case(text[title])
    if lower.any():
        out[lower] = text[lower].str.lower()
    return out


def double_a_space(text: pd.Series, rng: np.random.Generator) -> pd.Series:
    """One of the spaces typed twice."""
    values = text.tolist()
    u = rng.random(len(values))
    out = []
    for value, draw in zip(values, u, strict=True):
        spaces = [i for i, c in enumerate(value) if c == " "]
        if not spaces:
            out.append(value)
            continue
        i = spaces[int(draw * len(spaces))]
        out.append(value[:i] + " " + value[i:])
    return pd.Series(out, index=text.index, dtype="str")


_STRAY = np.array([".", ",", ";", "-", "'", "`"])


def stray_punctuation(text: pd.Series, rng: np.random.Generator) -> pd.Series:
    """A stray mark after one of the words (a pen rest the keyer typed, or a scanner speck)."""
    values = text.tolist()
    u = rng.random((len(values), 2))
    out = []
    for value, (where_u, mark_u) in zip(values, u, strict=True):
        ends = [i for i, c in enumerate(value) if c == " "] + [len(value)]
        i = ends[int(where_u * len(ends))]
        mark = _STRAY[int(mark_u * len(_STRAY))]
        out.append(value[:i] + mark + value[i:])
    return pd.Series(out, index=text.index, dtype="str")
