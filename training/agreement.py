"""Does a converted model answer as the Keras model does? Judged by what people see.

float32 must be the same model: the same top breed on every photo, every probability and
cat score within FLOAT32_TOLERANCE. A reduced precision (int8, float16, dynamic) passes when,
on the same labelled photos and with the same thresholds:
- top-1 and top-5 accuracy are within MAX_ACCURACY_GAP of the reference, overall and on the
  curated root;
- among the photos the reference answers confidently, the top breed is the same on at least
  CONFIDENT_SAME_TOP1 of them;
- `confident` is the same on at least SAME_CONFIDENT and `is_cat` on at least SAME_IS_CAT
  of all photos.
The raw share of photos with the same top breed is reported too; it is no clause, because
near-ties flip without changing what anyone would conclude.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from training import evaluate, thresholds

FLOAT32_TOLERANCE = 1e-4
MAX_ACCURACY_GAP = 0.005
CONFIDENT_SAME_TOP1 = 0.99
SAME_CONFIDENT = 0.97
SAME_IS_CAT = 0.995
CURATED = "oxford"


class DisagreementError(Exception):
    """The converted model does not answer as the Keras model does; nothing was written."""


@dataclass(frozen=True)
class Answers:
    """A model's answers on N photos: breed probabilities (N, breeds) and cat scores (N,)."""

    probabilities: np.ndarray
    cat_scores: np.ndarray

    def is_cat(self, cat_threshold: float) -> np.ndarray:
        return self.cat_scores >= cat_threshold

    def confident(self, limits: dict) -> np.ndarray:
        return thresholds.confident(self.probabilities, self.is_cat(limits["cat"]), limits["confidence"])


def _clause(value: float, bar: float, at_least: bool = True) -> dict:
    passed = value >= bar if at_least else value <= bar
    return {"value": round(float(value), 6), "bar": bar, "passed": bool(passed)}


def _accuracy_gaps(reference: Answers, converted: Answers, labels: np.ndarray, mask: np.ndarray, name: str) -> dict:
    clauses = {}
    for k in (1, 5):
        before = evaluate.top_k_accuracy(reference.probabilities[mask], labels[mask], k)
        after = evaluate.top_k_accuracy(converted.probabilities[mask], labels[mask], k)
        clauses[f"top{k}_gap_{name}"] = _clause(abs(after - before), MAX_ACCURACY_GAP, at_least=False) | {
            "reference": round(before, 6),
            "converted": round(after, 6),
        }
    return clauses


def compare(
    reference: Answers, converted: Answers, labels: np.ndarray, sources: np.ndarray, limits: dict, precision: str
) -> dict:
    """Every clause of the rule for `precision`, with its value and bar, and whether all pass.
    `limits` holds the thresholds both models are judged with: {"cat": ..., "confidence": ...}."""
    same_top1 = reference.probabilities.argmax(1) == converted.probabilities.argmax(1)
    result: dict = {"photos": len(labels), "precision": precision, "same_top1": float(same_top1.mean())}
    if precision == "float32":
        diff = max(
            np.abs(reference.probabilities - converted.probabilities).max(),
            np.abs(reference.cat_scores - converted.cat_scores).max(),
        )
        clauses = {
            "same_top1_all": _clause(same_top1.mean(), 1.0),
            "max_abs_diff": _clause(diff, FLOAT32_TOLERANCE, at_least=False),
        }
    else:
        clauses = _accuracy_gaps(reference, converted, labels, np.ones(len(labels), bool), "all")
        curated = np.asarray(sources) == CURATED
        if curated.any():
            clauses |= _accuracy_gaps(reference, converted, labels, curated, CURATED)
        sure = reference.confident(limits)
        if sure.any():
            clauses["same_top1_when_confident"] = _clause(same_top1[sure].mean(), CONFIDENT_SAME_TOP1)
        clauses["same_confident"] = _clause(np.mean(sure == converted.confident(limits)), SAME_CONFIDENT)
        same_cat = reference.is_cat(limits["cat"]) == converted.is_cat(limits["cat"])
        clauses["same_is_cat"] = _clause(same_cat.mean(), SAME_IS_CAT)
    result["clauses"] = clauses
    result["passed"] = all(c["passed"] for c in clauses.values())
    return result


def check(result: dict) -> dict:
    """`result` of compare(), or DisagreementError naming the clauses that fail."""
    if not result["passed"]:
        failed = {name: c for name, c in result["clauses"].items() if not c["passed"]}
        raise DisagreementError(
            f"the {result['precision']} .tflite does not answer as the Keras model does on {result['photos']} photos; "
            f"nothing written. Failing: {json.dumps(failed)}"
        )
    return result
