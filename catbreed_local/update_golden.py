"""Write tests/fixtures/golden.json: the shipped model's answer for every fixture photo
(top-5 breeds with probabilities to 3 decimals, is_cat, confident, focus). Run it when a new
model ships, and look at the diff; the tests never run it.

    .venv/bin/python -m catbreed_local.update_golden
"""

from __future__ import annotations

import json
from pathlib import Path

from catbreed.model import DEFAULT_MODEL_DIR, Classifier
from catbreed.service import Service

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def golden(service: Service, photo: Path) -> dict:
    body = service.predict_bytes(photo.read_bytes()).body  # the default top_k
    return {
        "top5": [[p["breed"], round(p["probability"], 3)] for p in body["predictions"]],
        "is_cat": body["is_cat"],
        "confident": body["confident"],
        "focus": body["focus"],
    }


def main() -> None:
    service = Service(Classifier(DEFAULT_MODEL_DIR))
    model = {k: service.classifier.info[k] for k in ("name", "version")}
    photos = {photo.name: golden(service, photo) for photo in sorted(FIXTURES.glob("*.jpg"))}
    rows = ",\n".join(f"  {json.dumps(name)}: {json.dumps(answer)}" for name, answer in photos.items())
    target = FIXTURES / "golden.json"
    target.write_text(f'{{\n "model": {json.dumps(model)},\n "photos": {{\n{rows}\n }}\n}}\n')  # a photo a line
    print(f"wrote {target.relative_to(ROOT)}: {len(photos)} photos, model {model}")


if __name__ == "__main__":
    main()
