"""Compare two training runs of the same recipe on their test photos (the float Keras models,
before conversion): top-1 and top-5 per data root, and how often they name the same breed.
For checking that `make train` reproduces itself.

    .venv/bin/python -m training.compare_runs runs/shipped runs/again
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from training import evaluate
from training.measure import keras_answers


def test_figures(run: Path) -> tuple[dict, np.ndarray]:
    """Per-root top-1/top-5 of the run's float model on its test photos, and its answers."""
    sets = np.load(run / "sets.npz")
    breeds = json.loads((run / "labels.json").read_text())
    probs = keras_answers(run / "model.keras", sets["test_pixels"]).probabilities
    report = evaluate.per_source_report(probs, sets["test_labels"], sets["test_sources"].tolist(), breeds)
    return {root: {k: round(m[k], 4) for k in ("photos", "top1", "top5")} for root, m in report.items()}, probs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    args = parser.parse_args(argv)
    tests = [json.loads((run / "split.json").read_text())["test"] for run in (args.first, args.second)]
    if tests[0] != tests[1]:
        print("compare_runs: the two runs have different test photos", file=sys.stderr)
        return 2
    (first, a), (second, b) = test_figures(args.first), test_figures(args.second)
    for root in first:
        gap = {k: round(100 * (second[root][k] - first[root][k]), 2) for k in ("top1", "top5")}
        print(f"{root:10s} {first[root]['photos']:5d} photos  first {first[root]}  second {second[root]}  gap (points) {gap}")
    print(f"same top-1 breed on {np.mean(a.argmax(1) == b.argmax(1)):.1%} of test photos")
    return 0


if __name__ == "__main__":
    sys.exit(main())
