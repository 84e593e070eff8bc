"""The rule a reduced-precision model must pass: each clause fails on its own when only what
it guards changes, and the whole rule passes when nothing a person sees changes."""

from __future__ import annotations

import numpy as np
import pytest

from training import agreement
from training.agreement import Answers

BREEDS = 10
LIMITS = {"cat": 0.5, "confidence": 0.6}
N = 1000


def row(top: int, top_p: float, second: int, second_p: float, label_p: float | None = None, label: int = -1) -> np.ndarray:
    rest = (1 - top_p - second_p) / (BREEDS - 2)
    probs = np.full(BREEDS, rest)
    probs[top], probs[second] = top_p, second_p
    if label_p is not None:  # push the true breed out of the top five
        probs[label] = label_p
    return probs / probs.sum()


def reference() -> tuple[Answers, np.ndarray, np.ndarray]:
    """1,000 photos, half oxford: 40% confident and right, 30% unsure and right, 20% unsure
    and wrong with the true breed second, 10% wrong with the true breed out of the top five."""
    labels = np.arange(N) % BREEDS
    sources = np.array(["oxford" if i % 2 else "web" for i in range(N)])
    probs = []
    for i, label in enumerate(labels):
        other = (label + 1) % BREEDS
        kind = (i // 2) % 10
        if kind < 4:
            probs.append(row(label, 0.9, other, 0.05))
        elif kind < 7:
            probs.append(row(label, 0.4, other, 0.3))
        elif kind < 9:
            probs.append(row(other, 0.4, label, 0.3))
        else:
            probs.append(row(other, 0.4, (label + 2) % BREEDS, 0.3, label_p=0.001, label=label))
    return Answers(np.array(probs), np.full(N, 0.9)), labels, sources


def kind_of(i: int) -> int:
    return (i // 2) % 10


def photos(kind: range, source: str, count: int) -> list[int]:
    """`count` photos of a kind (see reference) from one root."""
    return [i for i in range(N) if kind_of(i) in kind and (i % 2 == 1) == (source == "oxford")][:count]


def failing(converted: Answers, precision: str = "int8") -> set[str]:
    ref, labels, sources = reference()
    result = agreement.compare(ref, converted, labels, sources, LIMITS, precision)
    return {name for name, clause in result["clauses"].items() if not clause["passed"]}


def make_wrong(probs: np.ndarray, i: int, labels: np.ndarray, top_p: float = 0.4) -> None:
    label = labels[i]
    probs[i] = row((label + 3) % BREEDS, top_p, label, 0.3 if top_p < 0.6 else 0.05)


def make_right(probs: np.ndarray, i: int, labels: np.ndarray) -> None:
    probs[i] = row(labels[i], 0.4, (labels[i] + 1) % BREEDS, 0.3)


def test_the_same_answers_with_rounding_noise_pass_every_clause() -> None:
    ref, _, _ = reference()
    noisy = ref.probabilities + np.random.default_rng(0).uniform(0, 1e-3, ref.probabilities.shape)
    assert failing(Answers(noisy / noisy.sum(1, keepdims=True), ref.cat_scores - 1e-3)) == set()


def test_top1_lost_on_other_roots_fails_the_overall_gap_only() -> None:
    ref, labels, _ = reference()
    probs = ref.probabilities.copy()
    for i in photos(range(4, 7), "web", 8):  # unsure and right -> unsure and wrong (true breed second)
        make_wrong(probs, i, labels)
    assert failing(Answers(probs, ref.cat_scores)) == {"top1_gap_all"}


def test_top1_lost_on_oxford_and_won_elsewhere_fails_the_oxford_gap_only() -> None:
    ref, labels, _ = reference()
    probs = ref.probabilities.copy()
    for i in photos(range(4, 7), "oxford", 4):
        make_wrong(probs, i, labels)
    for i in photos(range(7, 9), "web", 4):
        make_right(probs, i, labels)
    assert failing(Answers(probs, ref.cat_scores)) == {"top1_gap_oxford"}


def test_top5_lost_fails_the_top5_gap_only() -> None:
    ref, labels, _ = reference()
    probs = ref.probabilities.copy()
    for i in photos(range(7, 9), "web", 8):  # wrong with the true breed second -> true breed out of the top five
        probs[i] = row((labels[i] + 1) % BREEDS, 0.4, (labels[i] + 2) % BREEDS, 0.3, label_p=0.001, label=labels[i])
    assert failing(Answers(probs, ref.cat_scores)) == {"top5_gap_all"}


def test_top5_lost_on_oxford_and_won_elsewhere_fails_the_oxford_top5_gap_only() -> None:
    ref, labels, _ = reference()
    probs = ref.probabilities.copy()
    for i in photos(range(7, 9), "oxford", 4):
        probs[i] = row((labels[i] + 1) % BREEDS, 0.4, (labels[i] + 2) % BREEDS, 0.3, label_p=0.001, label=labels[i])
    for i in photos(range(9, 10), "web", 4):  # the true breed back into the top five, still wrong
        probs[i] = row((labels[i] + 1) % BREEDS, 0.4, labels[i], 0.3)
    assert failing(Answers(probs, ref.cat_scores)) == {"top5_gap_oxford"}


def test_confident_answers_that_change_breed_fail_that_clause_only() -> None:
    ref, labels, _ = reference()
    probs = ref.probabilities.copy()
    for i in photos(range(0, 4), "web", 6):  # confident and right -> confident and wrong (true breed second)
        make_wrong(probs, i, labels, top_p=0.9)
    for i in photos(range(7, 9), "web", 6):  # accuracy won back where the model was unsure
        make_right(probs, i, labels)
    assert failing(Answers(probs, ref.cat_scores)) == {"same_top1_when_confident"}


def test_answers_that_turn_confident_fail_the_same_confident_clause_only() -> None:
    ref, labels, _ = reference()
    probs = ref.probabilities.copy()
    for i in photos(range(4, 7), "web", 40):  # unsure and right -> confident and right
        probs[i] = row(labels[i], 0.65, (labels[i] + 1) % BREEDS, 0.1)
    assert failing(Answers(probs, ref.cat_scores)) == {"same_confident"}


def test_cats_that_stop_being_cats_fail_the_is_cat_clause_only() -> None:
    ref, _, _ = reference()
    cats = ref.cat_scores.copy()
    cats[photos(range(4, 9), "web", 6)] = 0.4  # unsure answers, so `confident` stays false
    assert failing(Answers(ref.probabilities, cats)) == {"same_is_cat"}


def test_float32_must_be_the_same_model() -> None:
    ref, _, _ = reference()
    assert failing(Answers(ref.probabilities + 1e-6, ref.cat_scores), "float32") == set()
    assert failing(Answers(ref.probabilities, ref.cat_scores + 1e-3), "float32") == {"max_abs_diff"}


def test_check_names_the_failing_clause_and_passes_a_good_result() -> None:
    ref, labels, sources = reference()
    good = agreement.compare(ref, ref, labels, sources, LIMITS, "int8")
    assert agreement.check(good) is good and good["same_top1"] == 1.0
    cats = ref.cat_scores.copy()
    cats[:10] = 0.0
    bad = agreement.compare(ref, Answers(ref.probabilities, cats), labels, sources, LIMITS, "int8")
    with pytest.raises(agreement.DisagreementError, match="same_is_cat"):
        agreement.check(bad)
