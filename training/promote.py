"""The promotion gate (training/promotion.py): runs a candidate model and the model in service
on the same photos, prints the comparison, and refuses the candidate when it is worse beyond
the noise. `make train` ends with it.

    .venv/bin/python scripts/promote.py CANDIDATE_DIR [--against model] [--run RUN_DIR]   (or -m training.promote)
        [--against-run RUN_DIR] [--feedback EXPORT] [--dogs DIR] [--report PATH] [--ship]

A model folder holds catbreed.tflite and model_card.json. The test photos are the candidate's
training run's (its split.json; by default CANDIDATE_DIR/.., where `make train` converts),
read from their files and answered as POST /predict answers them; run it where the data is.

Exit status: 0 accepted (and, with --ship, copied over --against), 1 refused (nothing copied),
2 nothing judged: a missing file or folder, an unreviewed feedback export (one line says which).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from training import promotion
from training.convert import DOGS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("candidate", type=Path, help="the new model's folder (catbreed.tflite, model_card.json)")
    parser.add_argument("--against", type=Path, default=Path("model"), help="the model in service (default: model/)")
    parser.add_argument("--run", type=Path, help="the candidate's training run (default: CANDIDATE_DIR/..)")
    parser.add_argument(
        "--against-run", type=Path, help="the in-service model's training run: its training photos are left out"
    )
    parser.add_argument("--feedback", type=Path, help="a reviewed export of python -m catbreed_local.feedback_export")
    parser.add_argument("--dogs", type=Path, default=DOGS, help="dog photos (skipped when the folder is absent)")
    parser.add_argument("--report", type=Path, help="write the comparison as JSON here")
    parser.add_argument("--ship", action="store_true", help="when accepted, copy the candidate's files over --against")
    return parser.parse_args(argv)


def describe(model_dir: Path) -> str:
    card = json.loads((model_dir / "model_card.json").read_text())
    return f"{model_dir} ({card['name']} {card['version']}, {len(card['breeds'])} breeds)"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run = args.run or args.candidate.parent
    try:
        missing = [a for a in promotion.ARTIFACTS if not (args.candidate / a).is_file()]
        if missing:
            raise promotion.GateError(f"{args.candidate} is not a model folder (no {missing[0]})")
        found: list[promotion.Measure] = []
        if not (args.against / "model_card.json").is_file():
            print(f"promote: nothing in service in {args.against}: {describe(args.candidate)} accepted")
        elif not promotion.breeds_of(args.candidate) & promotion.breeds_of(args.against):
            print(f"promote: {describe(args.candidate)} shares no breed with {describe(args.against)}: a new line, not compared")
        else:
            print(f"promote: candidate {describe(args.candidate)} against {describe(args.against)}")
            found = promotion.judge(args.candidate, args.against, run, args.against_run, args.feedback, args.dogs)
    except (promotion.GateError, OSError, KeyError, ValueError) as error:
        print(f"promote: {error}", file=sys.stderr)
        return 2
    outcome = promotion.report(found)
    if found:
        print(f"test photos: {run / 'split.json'}; exact one-sided McNemar per line, worse when p < {outcome['bar']:.3g}")
        print(promotion.table(found))
    if args.report:
        args.report.write_text(json.dumps(outcome, indent=1) + "\n")
    if not outcome["accepted"]:
        print(f"REFUSED: worse beyond the noise on {'; '.join(outcome['worse'])}. {args.against} is unchanged.")
        return 1
    if args.ship:
        promotion.ship(args.candidate, args.against)
        golden = ".venv/bin/python -m catbreed_local.update_golden"
        print(f"ACCEPTED and shipped into {args.against}; regenerate the golden answers: {golden}")
    else:
        print("ACCEPTED: no measure is worse beyond the noise.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
