"""Two models side by side on the same photos: the warm handler's mean time on one thread, calls
alternating between the models so that both see the same machine, and how many answers of each
took a second look.

    python -m bench.two_models OTHER_MODEL_DIR [--model model/] [--photos 40] [--rounds 5]

The photos: half `oxford`, half `petfinder` (shelter) photos of ../shared/data/cats, drawn with a
fixed seed; the fixture photos when that folder is absent.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "cats"
FIXTURES = ROOT / "tests" / "fixtures"


def mixed_photos(count: int, seed: int = 0) -> list[bytes]:
    """`count` photos, half curated (oxford) and half shelter (petfinder), or the fixtures."""
    roots = [SHARED / "oxford", SHARED / "petfinder"]
    if not all(root.is_dir() for root in roots):
        return [path.read_bytes() for path in sorted(FIXTURES.glob("*.jpg"))]
    rng = random.Random(seed)
    chosen = []
    for root in roots:
        chosen += rng.sample(sorted(root.glob("*/*.jpg")), count // 2)
    return [path.read_bytes() for path in chosen]


def compare(model_dirs: list[Path], photos: list[bytes], rounds: int) -> list[dict]:
    """Per model: mean and median handler milliseconds over every photo and round, and the
    share of photos that took a second look."""
    from catbreed.gateway import Gateway  # imported here: the log level is read at import
    from catbreed.model import Classifier
    from catbreed.service import Service

    gateways = [Gateway(Service(Classifier(d, num_threads=1))) for d in model_dirs]
    events = [{"image": base64.b64encode(photo).decode()} for photo in photos]
    samples: list[list[float]] = [[] for _ in model_dirs]
    for gateway in gateways:  # warm up
        for event in events[:5]:
            gateway.handle(dict(event))
    for _ in range(rounds):
        for event in events:
            for i, gateway in enumerate(gateways):
                started = time.perf_counter()
                gateway.handle(dict(event))
                samples[i].append(time.perf_counter() - started)
    results = []
    for model_dir, gateway, times in zip(model_dirs, gateways, samples, strict=True):
        classifier = gateway.service.classifier
        looks = [classifier.predict(photo).looks for photo in photos]
        results.append(
            {
                "model": f"{classifier.info['name']} {classifier.info['version']} ({model_dir})",
                "mean_ms": round(statistics.fmean(times) * 1000, 2),
                "median_ms": round(statistics.median(times) * 1000, 2),
                "second_looks": round(sum(n == 2 for n in looks) / len(looks), 3),
            }
        )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("other", type=Path, help="the other model's folder (catbreed.tflite + model_card.json)")
    parser.add_argument("--model", type=Path, default=ROOT / "model")
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # read when the first Classifier's logger logs
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    photos = mixed_photos(args.photos)
    results = compare([args.model, args.other], photos, args.rounds)
    for row in results:
        print(f"{row['model']}: mean {row['mean_ms']} ms, median {row['median_ms']} ms, second looks {row['second_looks']:.0%}")
    ratio = results[0]["mean_ms"] / results[1]["mean_ms"]
    print(f"{len(photos)} photos x {args.rounds} rounds, one thread; ratio of means {ratio:.2f}")


if __name__ == "__main__":
    main()
