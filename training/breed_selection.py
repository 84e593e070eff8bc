"""Which breeds ship: those the model learned, judged on validation photos only.

A new breed ships when its validation top-1 reaches `min_top1`; a breed the model in service
already ships keeps shipping while it reaches `min_top1_shipped` (it is still learned: owners
of that breed keep an answer). Either way, a breed with no photos in the curated root ships
only when its presence costs the curated photos at most `max_curated_cost` of top-1 (a
look-alike that steals curated answers does not ship). Leaving a breed out is
dropping its column of the head: the others' probabilities renormalize.
"""

from __future__ import annotations

import numpy as np

from training import evaluate
from training.agreement import CURATED


def top1_among(probs: np.ndarray, labels: np.ndarray, columns: list[int]) -> float:
    """Top-1 accuracy when only `columns` of the head are kept (labels index all columns)."""
    if not len(labels):
        return float("nan")
    kept = np.array(columns)
    return float(np.mean(kept[probs[:, kept].argmax(1)] == labels))


def select_breeds(
    probs: np.ndarray,
    labels: np.ndarray,
    sources: np.ndarray,
    breeds: list[str],
    min_top1: float,
    max_curated_cost: float,
    shipped: frozenset[str] = frozenset(),
    min_top1_shipped: float = 0.0,
) -> tuple[list[str], dict]:
    """(the breeds that ship in head order, {left-out breed: its validation figures and why});
    `shipped`: the breeds of the model in service, held to `min_top1_shipped`."""
    figures = evaluate.classification_report(probs, labels, breeds)["per_breed"]
    bar = {b: min_top1_shipped if b in shipped else min_top1 for b in breeds}
    learned = [i for i, b in enumerate(breeds) if figures[b]["top1"] >= bar[b]]
    curated = np.asarray(sources) == CURATED
    curated_breeds = set(labels[curated].tolist())
    on_curated = np.isin(labels, learned) & curated
    with_all = top1_among(probs[on_curated], labels[on_curated], learned)
    left_out: dict[str, dict] = {}
    for i, breed in enumerate(breeds):
        entry = {k: figures[breed][k] for k in ("photos", "top1", "top5")}
        if i not in learned:
            kind = "shipped before" if breed in shipped else "new"
            left_out[breed] = entry | {"reason": f"validation top-1 under {bar[breed]:.0%} ({kind})"}
        elif i not in curated_breeds and on_curated.any():
            cost = top1_among(probs[on_curated], labels[on_curated], [j for j in learned if j != i]) - with_all
            if cost > max_curated_cost:
                left_out[breed] = entry | {
                    "curated_top1_cost": round(cost, 6),
                    "reason": f"costs {CURATED} validation top-1 {cost:.1%} (more than {max_curated_cost:.1%})",
                }
    return [b for b in breeds if b not in left_out], left_out
