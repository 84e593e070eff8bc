"""Metrics for the evaluation report: top-k accuracy, per breed and per data root,
expected calibration error, temperature fitting, and the confusion-matrix picture."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax


def top_k_accuracy(probs: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Share of rows whose true label is among the k highest scores."""
    if len(labels) == 0:
        return float("nan")
    top = np.argsort(-probs, axis=1)[:, :k]
    return float(np.mean([label in row for row, label in zip(top, labels, strict=False)]))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE of the top-1 confidence over equal-width bins."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        in_bin = (confidence > lo) & (confidence <= hi)
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T minimizing validation NLL of softmax(logits / T)."""

    def nll(t: float) -> float:
        return float(-log_softmax(logits / t, axis=1)[np.arange(len(labels)), labels].mean())

    return float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)


def classification_report(probs: np.ndarray, labels: np.ndarray, names: list[str]) -> dict:
    """Top-1, top-5 and calibration error, overall and per breed."""
    report = {
        "photos": len(labels),
        "top1": top_k_accuracy(probs, labels, 1),
        "top5": top_k_accuracy(probs, labels, min(5, len(names))),
        "ece": expected_calibration_error(probs, labels) if len(labels) else float("nan"),
        "per_breed": {},
    }
    for index, name in enumerate(names):
        mask = labels == index
        if mask.any():
            report["per_breed"][name] = {
                "photos": int(mask.sum()),
                "top1": top_k_accuracy(probs[mask], labels[mask], 1),
                "top5": top_k_accuracy(probs[mask], labels[mask], min(5, len(names))),
                "ece": expected_calibration_error(probs[mask], labels[mask]),
            }
    return report


def per_source_report(probs: np.ndarray, labels: np.ndarray, sources: list[str], names: list[str]) -> dict:
    """The classification report overall and for each data root apart."""
    report = {"all": classification_report(probs, labels, names)}
    for source in sorted(set(sources)):
        mask = np.array([s == source for s in sources])
        report[source] = classification_report(probs[mask], labels[mask], names)
    return report


def calibration_report(logits: np.ndarray, labels: np.ndarray, temperature: float) -> dict:
    """ECE before and after temperature scaling."""
    return {
        "temperature": temperature,
        "ece_before": expected_calibration_error(softmax(logits, axis=1), labels),
        "ece_after": expected_calibration_error(softmax(logits / temperature, axis=1), labels),
    }


def save_confusion_matrix(probs: np.ndarray, labels: np.ndarray, names: list[str], path: Path) -> None:
    """Write a row-normalized confusion matrix as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(names)
    matrix = np.zeros((n, n))
    for truth, guess in zip(labels, probs.argmax(axis=1), strict=False):
        matrix[truth, guess] += 1
    matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1 + 0.6 * n, 1 + 0.6 * n))
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            if matrix[i, j] >= 0.01:
                ax.text(
                    j,
                    i,
                    f"{matrix[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if matrix[i, j] > 0.5 else "black",
                )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
