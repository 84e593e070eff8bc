"""The promotion gate's arithmetic (training/promotion.py): the exact one-sided McNemar test,
the Bonferroni bar over the measures, and the table. The gate on real models:
test_oxford_recipe.py."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from training import promotion


@pytest.mark.parametrize(("only_in_service", "only_candidate"), [(0, 0), (1, 0), (6, 0), (5, 5), (3, 7), (12, 4), (40, 20)])
def test_the_p_value_is_the_exact_binomial_tail(only_in_service: int, only_candidate: int) -> None:
    n = only_in_service + only_candidate
    expected = binomtest(only_in_service, n, 0.5, alternative="greater").pvalue if n else 1.0
    assert promotion.mcnemar_worse(only_in_service, only_candidate) == pytest.approx(expected, rel=1e-12)


def test_only_the_photos_where_the_models_differ_count() -> None:
    """Both right or both wrong says nothing about which model is better."""
    in_service = np.array([True] * 80 + [False] * 10 + [True] * 7 + [False] * 3)
    candidate = np.array([True] * 80 + [False] * 10 + [False] * 7 + [True] * 3)
    measure = promotion.compare("top-1", in_service, candidate)
    assert (measure.photos, measure.only_in_service, measure.only_candidate) == (100, 7, 3)
    assert measure.in_service == pytest.approx(0.87) and measure.candidate == pytest.approx(0.83)
    assert measure.p_worse == pytest.approx(176 / 1024)  # P(X >= 7), X ~ Binomial(10, 1/2)


def worse_by(lost: int, gained: int = 0, photos: int = 200) -> tuple[np.ndarray, np.ndarray]:
    in_service = np.array([True] * lost + [False] * gained + [True] * (photos - lost - gained))
    candidate = np.array([False] * lost + [True] * gained + [True] * (photos - lost - gained))
    return in_service, candidate


def test_a_clear_loss_is_refused_and_a_loss_within_the_noise_is_not() -> None:
    clear = promotion.compare("top-1", *worse_by(8))  # 8 of 8 differing photos lost: p = 1/256
    noise = promotion.compare("curated", *worse_by(5, 2))  # 5 lost, 2 gained: p = 29/128
    assert [m.name for m in promotion.refused([clear, noise])] == ["top-1"]
    assert promotion.refused([noise]) == []


def test_the_bar_falls_with_the_number_of_measures() -> None:
    """Bonferroni: p = 1/64 is worse beyond the noise among 2 measures (bar 0.025), not among 4 (0.0125)."""
    lost = promotion.compare("top-1", *worse_by(6))
    same = promotion.compare("dogs rejected", *worse_by(0))
    assert lost.p_worse == pytest.approx(1 / 64)
    assert promotion.refused([lost, same]) == [lost]
    assert promotion.refused([lost, same, same, same]) == []


def test_a_better_candidate_is_never_refused() -> None:
    better = promotion.compare("top-1", *worse_by(0, 30))
    assert better.p_worse == 1.0 and promotion.refused([better]) == []


def test_the_table_shows_both_models_side_by_side_and_marks_the_worse_line() -> None:
    found = [promotion.compare("top-1, test photos", *worse_by(8)), promotion.compare("dogs rejected", *worse_by(0, 3, 40))]
    lines = promotion.table(found).splitlines()
    assert lines[2] == "| top-1, test photos | 200 | 100.0% | 96.0% | -4.0 pt | 8 | 0 | 0.00391 | WORSE |"
    assert lines[3] == "| dogs rejected | 40 | 92.5% | 100.0% | +7.5 pt | 0 | 3 | 1 | better |"
    report = promotion.report(found)
    assert report["bar"] == 0.025 and report["worse"] == ["top-1, test photos"] and not report["accepted"]
