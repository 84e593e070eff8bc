"""Label noise in the noisy data roots: photos whose label the rest of the data contradicts.

Out-of-fold probabilities come from the same class-balanced logistic regression the head
starts from, on the frozen backbone's pooled features (each photo is scored by a model that
never saw it); cleanlab's confident learning then names the photos whose given label is
most likely wrong. Training down-weights those photos; nothing is deleted.
"""

from __future__ import annotations

import numpy as np
from cleanlab.filter import find_label_issues
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict


def out_of_fold_probabilities(features: np.ndarray, labels: np.ndarray, c: float, seed: int, folds: int = 4) -> np.ndarray:
    """(N, classes) probabilities of each photo from a probe trained on the other folds."""
    probe = LogisticRegression(C=c, class_weight="balanced", max_iter=1000, random_state=seed)
    splits = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return cross_val_predict(probe, features, labels, cv=splits, method="predict_proba", n_jobs=1)


def noisy_labels(labels: np.ndarray, probabilities: np.ndarray, sources: list[str], noisy_sources: set[str]) -> np.ndarray:
    """Boolean mask of photos from `noisy_sources` whose label confident learning flags
    (curated roots are never flagged: they are the yardstick)."""
    flagged = find_label_issues(labels, probabilities, filter_by="prune_by_noise_rate")
    return flagged & np.isin(np.array(sources), sorted(noisy_sources))
