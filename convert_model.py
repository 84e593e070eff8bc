"""Convert a trained run into the shipped model: `catbreed.tflite`, `model_card.json` and
`MODEL_CARD.md` in --out, all three or none (the steps: training/convert.py).

    python convert_model.py --run runs/shipped --out model [--precision int8|float32|float16|dynamic]

float32 is the default and the shipped recipe. int8 (weights and activations, float input
and output) must answer as the float model does, by what people see (training/agreement.py),
first on validation (keeping the worst-quantized layers in float if needed) and then on the
test photos, or nothing is written and this exits with 1; on the shipped model it does not
(docs/training.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from catbreed import __version__
from training.agreement import CURATED, DisagreementError
from training.convert import DOGS, MAX_CURATED_COST, MIN_BREED_TOP1, MIN_SHIPPED_TOP1, PRECISION, Rules, convert
from training.export import PRECISIONS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="the training run's --out folder")
    parser.add_argument("--out", type=Path, default=Path("model"))
    parser.add_argument("--precision", choices=PRECISIONS, default=PRECISION)
    parser.add_argument("--dogs", type=Path, default=DOGS, help="dog photos for tuning the cat threshold (optional)")
    parser.add_argument(
        "--min-breed-top1", type=float, default=MIN_BREED_TOP1, help="leave out a new breed whose validation top-1 is lower"
    )
    parser.add_argument(
        "--min-shipped-top1",
        type=float,
        default=MIN_SHIPPED_TOP1,
        help="leave out a breed the model in --out ships whose validation top-1 is lower",
    )
    parser.add_argument(
        "--max-curated-cost",
        type=float,
        default=MAX_CURATED_COST,
        help=f"leave out a breed without {CURATED} photos that costs {CURATED} validation top-1 more than this",
    )
    parser.add_argument("--name", default=None, help="default: catbreed-<backbone>")
    parser.add_argument("--version", default=__version__)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        rules = Rules(
            precision=args.precision,
            min_breed_top1=args.min_breed_top1,
            min_shipped_top1=args.min_shipped_top1,
            max_curated_cost=args.max_curated_cost,
            dogs=args.dogs,
            name=args.name,
            version=args.version,
        )
        card = convert(args.run, args.out, rules=rules)
    except DisagreementError as error:
        print(f"convert_model: {error}", file=sys.stderr)
        return 1
    test = card["metrics"]["test"]["accuracy"]
    summary = {k: {m: round(v[m], 4) for m in ("top1", "top5")} for k, v in test.items()}
    print(json.dumps({"out": str(args.out), "bytes": card["file_bytes"], "thresholds": card["thresholds"], "test": summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
