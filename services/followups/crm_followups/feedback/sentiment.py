"""Sentiment of feedback text: positive / neutral / negative with a score in -1..1.

Chinese text is scored by SnowNLP's sentiment model (a naive Bayes classifier over words, trained on
Chinese product reviews, shipped in the `snownlp` package): `p` is the probability that the text is
positive and the score is `2p - 1`. English text is scored by VADER (`vaderSentiment`: a valence
lexicon with rules for negation, intensifiers, "but" and punctuation): the score is its `compound`.
A text counts as Chinese when at least a fifth of its letters are CJK ideographs.

The thresholds below were chosen on tests/bench/data/ (figures in docs/benchmarks.md): VADER's own
recommended cut-offs (±0.05) for English; for SnowNLP a band around 0.5, since its probabilities of
short neutral remarks sit in the middle. Both models load once per process, at the service's
start (`warm_up`, main.py), and score on a worker thread (`analyse_many_off_loop`).
"""

from __future__ import annotations

import asyncio
import functools
import re
import threading
from dataclasses import dataclass
from typing import Any, Final

POSITIVE: Final = "positive"
NEUTRAL: Final = "neutral"
NEGATIVE: Final = "negative"
LABELS: Final = (POSITIVE, NEUTRAL, NEGATIVE)

# English: VADER's documented cut-offs on `compound`.
EN_POSITIVE: Final = 0.05
EN_NEGATIVE: Final = -0.05
# Chinese: on the score 2p - 1 (p: SnowNLP's probability of positive).
ZH_POSITIVE: Final = 0.3
ZH_NEGATIVE: Final = -0.3

MAX_SCORED_CHARS: Final = 2000
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")
_lock = threading.Lock()


@dataclass(frozen=True)
class Sentiment:
    label: str
    score: float
    language: str


def language_of(text: str) -> str:
    letters = len(_LETTER.findall(text))
    cjk = len(_CJK.findall(text))
    return "zh" if letters and cjk * 5 >= letters else "en"


@functools.cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    return SentimentIntensityAnalyzer()


@functools.cache
def _snownlp() -> Any:
    from snownlp import sentiment
    return sentiment


def _label(score: float, positive: float, negative: float) -> str:
    if score >= positive:
        return POSITIVE
    if score <= negative:
        return NEGATIVE
    return NEUTRAL


def analyse(text: str) -> Sentiment | None:
    """None for a text without letters (nothing to score)."""
    text = text.strip()[:MAX_SCORED_CHARS]
    if not _LETTER.search(text):
        return None
    language = language_of(text)
    with _lock:  # both models keep module state; one scoring at a time per process
        if language == "zh":
            probability = float(_snownlp().classify(text))
            score = round(2 * probability - 1, 4)
            return Sentiment(_label(score, ZH_POSITIVE, ZH_NEGATIVE), score, language)
        compound = float(_vader().polarity_scores(text)["compound"])
    score = round(compound, 4)
    return Sentiment(_label(score, EN_POSITIVE, EN_NEGATIVE), score, language)


async def analyse_many_off_loop(texts: list[str]) -> list[Sentiment | None]:
    """`analyse` of each text (None for an empty one), all in one worker-thread hop: scoring takes
    about a millisecond a text, but must never hold the loop."""
    return await asyncio.to_thread(lambda: [analyse(text) if text else None for text in texts])


def warm_up() -> None:
    """Loads both models (SnowNLP's takes seconds), so no request pays for it."""
    analyse("预热")
    analyse("warm up")
