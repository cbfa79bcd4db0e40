"""Accuracy of feedback sentiment (crm_followups/feedback/sentiment.py) on labelled CRM feedback.

    .venv/bin/python tests/bench/bench_sentiment.py

Reads tests/bench/data/sentiment_{en,zh}.tsv (label<TAB>text; 40 positive, 40 neutral, 40 negative
sentences each, written for this benchmark: praise, complaints and plain business remarks a sales or
service team logs) and prints, per language, the accuracy, the accuracy on polar sentences only
(positive vs negative, neutral left out), the confusion matrix (rows: labelled, columns: predicted),
the time per sentence, and a baseline that always answers the majority label. Figures are recorded in
docs/benchmarks.md.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from pathlib import Path

from crm_followups.feedback.sentiment import LABELS, NEUTRAL, analyse

DATA = Path(__file__).parent / "data"


def load(language: str) -> list[tuple[str, str]]:
    with (DATA / f"sentiment_{language}.tsv").open(encoding="utf-8") as handle:
        return [(row["label"], row["text"]) for row in csv.DictReader(handle, delimiter="\t")]


def evaluate(language: str) -> dict[str, float]:
    rows = load(language)
    analyse("warm up" if language == "en" else "预热")  # model load is not per sentence
    started = time.perf_counter()
    predicted = []
    for _, text in rows:
        result = analyse(text)
        predicted.append(result.label if result else NEUTRAL)
    elapsed = time.perf_counter() - started
    pairs = list(zip((label for label, _ in rows), predicted, strict=True))
    matrix = Counter(pairs)
    correct = sum(matrix[(label, label)] for label in LABELS)
    polar = [(t, p) for t, p in pairs if t != NEUTRAL]
    polar_correct = sum(1 for t, p in polar if t == p)
    majority = Counter(label for label, _ in rows).most_common(1)[0][1]
    model = "SnowNLP 0.12.3 (naive Bayes)" if language == "zh" else "VADER 3.3.2 (lexicon + rules)"
    print(f"\n== {language}: {len(rows)} sentences, {model}")
    print(f"accuracy          {correct / len(rows):.3f}  ({correct}/{len(rows)})")
    print(f"polar accuracy    {polar_correct / len(polar):.3f}  ({polar_correct}/{len(polar)}, neutral left out)")
    print(f"majority baseline {majority / len(rows):.3f}")
    print(f"time per sentence {elapsed / len(rows) * 1000:.2f} ms")
    print("confusion (rows labelled, columns predicted)")
    print(f"{'':>10}" + "".join(f"{p:>10}" for p in LABELS))
    for t in LABELS:
        print(f"{t:>10}" + "".join(f"{matrix[(t, p)]:>10}" for p in LABELS))
    return {"accuracy": correct / len(rows), "polar": polar_correct / len(polar)}


def main() -> None:
    for language in ("en", "zh"):
        evaluate(language)


if __name__ == "__main__":
    main()
