"""Label noise in the noisy data roots: photos whose label the rest of the data contradicts.

Out-of-fold probabilities come from the same class-balanced logistic regression the head
starts from, on the frozen backbone's pooled features (each photo is scored by a model that
never saw it); cleanlab's confident learning then names the photos whose given label is
most likely wrong. Training down-weights those photos; nothing is deleted.
"""

from __future__ import annotations

import json
import logging

import numpy as np
from cleanlab.filter import find_label_issues
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from training import data as datasets
from training import evaluate
from training.backbones import Backbone
from training.config import TrainConfig
from training.finetune import fit_head, predict

log = logging.getLogger("training")


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


def clean_labels(
    train_features: np.ndarray,
    y_train: np.ndarray,
    train: list[datasets.Sample],
    weights: np.ndarray,
    backbone: Backbone,
    x_val: np.ndarray,
    y_val: np.ndarray,
    val: list[datasets.Sample],
    breeds: list[str],
    config: TrainConfig,
) -> tuple[np.ndarray, dict]:
    """Down-weight training photos of the noisy roots whose label the rest contradicts
    (above), and measure what it does: a linear probe on the centre views,
    fitted with and without the down-weighting, scored on validation per root and breed."""
    sources = [s.source for s in train]
    oof = out_of_fold_probabilities(train_features, y_train, config.c, config.seed)
    flagged = noisy_labels(y_train, oof, sources, set(config.clean_labels))
    cleaned = np.where(flagged, weights * config.flagged_weight, weights)
    val_features = predict(backbone.features, x_val)
    val_sources = [s.source for s in val]
    probes = {}
    for name, w in (("as_labelled", weights), ("cleaned", cleaned)):
        head = fit_head(train_features, y_train, config.c, config.seed, w)
        probes[name] = evaluate.per_source_report(softmax(head(val_features).numpy(), axis=1), y_val, val_sources, breeds)
    per_root = {r: int(sum(f for f, s in zip(flagged, sources, strict=True) if s == r)) for r in sorted(set(sources))}
    per_breed = {b: int(flagged[y_train == i].sum()) for i, b in enumerate(breeds)}
    report = {
        "noisy_sources": sorted(config.clean_labels),
        "flagged": int(flagged.sum()),
        "flagged_weight": config.flagged_weight,
        "flagged_per_source": per_root,
        "flagged_per_breed": per_breed,
        "flagged_photos": [str(train[i].path) for i in np.flatnonzero(flagged)],
        "validation_probe": probes,
    }
    summary = {n: {r: round(m["top1"], 4) for r, m in p.items()} for n, p in probes.items()}
    log.info("linear probe on validation, top-1 by root: %s", json.dumps(summary))
    return cleaned, report
