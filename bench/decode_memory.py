"""Peak memory of classifying the largest photo of each kind the function accepts (a
benchmark, not a test): each photo is classified in a fresh process with the shipped model,
whose peak resident memory (VmHWM, Linux) is reported next to the same process's before it.

    .venv/bin/python -m bench.decode_memory [--json]

The bar: the worst accepted photo fits every memory size the template allows (its MemorySize
parameter: from its MinValue up), and it says from which size up that peak is under half the
function's memory; photos past the decoding budget (catbreed.preprocessing.DECODE_MAX_BYTES)
are refused before they are decoded.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

from catbreed.preprocessing import DECODE_MAX_BYTES, MAX_PIXELS, bytes_per_pixel
from catbreed_local.check_wheels import template_parameters

ROOT = Path(__file__).resolve().parent.parent

# VmHWM: the process's own high-water mark (ru_maxrss would carry over the forking parent's)
CHILD = """
import sys, time
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
from catbreed.errors import CatbreedError
from catbreed.model import DEFAULT_MODEL_DIR, Classifier
classifier = Classifier(DEFAULT_MODEL_DIR)
classifier.predict(open("tests/fixtures/cat_chelsea.jpg", "rb").read())
before = peak_mb()
data = open(sys.argv[1], "rb").read()
started = time.perf_counter()
try:
    classifier.predict(data)
    outcome = "classified"
except CatbreedError as exc:
    outcome = exc.code
seconds = time.perf_counter() - started
print(before, peak_mb(), outcome, seconds)
"""


def largest_accepted(mode: str, fmt: str, transparency: bool) -> int:
    """The most pixels a photo of `mode` in `fmt` may have."""
    probe = Image.open(io.BytesIO(photo(mode, 64, fmt, transparency)))
    return min(MAX_PIXELS, DECODE_MAX_BYTES // bytes_per_pixel(probe))


def photo(mode: str, pixels: int, fmt: str, transparency: bool = False) -> bytes:
    """A flat photo of about `pixels` pixels (memory depends on the size, not the content)."""
    side = math.isqrt(pixels)
    color = {"1": 1, "L": 128, "P": 3, "I;16": 40000, "LA": (128, 100), "RGBA": (200, 100, 50, 100)}.get(mode, 0)
    image = Image.new(mode, (side, pixels // side), color if mode != "RGB" else (200, 100, 50))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"transparency": 0} if transparency else {}))
    return buffer.getvalue()


MODE_NAMES = {"I;16": "16-bit gray", "RGB": "RGB", "RGBA": "RGBA", "LA": "gray+alpha", "P": "palette", "L": "gray"}
MODE_NAMES |= {"1": "1-bit", "CMYK": "CMYK"}
# (mode, format, transparency) of the largest photo the pixel check accepts, one case each
LARGEST = [("I;16", "PNG", False), ("RGB", "PNG", False), ("RGBA", "PNG", False), ("LA", "PNG", False)]
LARGEST += [("P", "PNG", False), ("P", "PNG", True), ("L", "PNG", False), ("1", "BMP", False)]
LARGEST += [("RGB", "JPEG", False), ("CMYK", "JPEG", False), ("RGBA", "WEBP", False)]


def case_name(mode: str, fmt: str, transparency: bool) -> str:
    """A case's name, such as "palette PNG with transparency" or "RGBA WebP"."""
    return f"{MODE_NAMES[mode]} {fmt.replace('WEBP', 'WebP')}" + (" with transparency" if transparency else "")


CASES = [  # name, mode, format, pixels (None: the largest accepted), transparency
    ("16-bit gray PNG, 40 MP (the 220 KB file of issue 15)", "I;16", "PNG", MAX_PIXELS, False),
    ("palette GIF with transparency, 40 MP", "P", "GIF", MAX_PIXELS, True),
] + [
    (f"{case_name(mode, fmt, see_through)}, largest accepted", mode, fmt, None, see_through) for mode, fmt, see_through in LARGEST
]


def memory_verdict(peak_mb: float, memory_size: dict) -> str:
    """What a process peaking at `peak_mb` means at each size the template's MemorySize
    parameter allows (MinValue, Default, MaxValue)."""
    least, default, most = (int(memory_size[key]) for key in ("MinValue", "Default", "MaxValue"))
    half_from = math.ceil(2 * peak_mb)
    allowed = f"the template allows {least:,} to {most:,} MB, default {default:,}"
    if peak_mb > least:
        return f"does NOT fit below {math.ceil(peak_mb):,} MB ({allowed}): raise MinValue or lower DECODE_MAX_BYTES"
    half = "the default included" if default >= half_from else f"not at the default, {default:,} MB"
    return (f"fits every size ({allowed}), with {least - peak_mb:,.0f} MB to spare at {least:,} MB; "
            f"under half of the function's memory from {half_from:,} MB up, {half}")


def measure(data: bytes) -> tuple[float, float, str, float]:
    """(MB before, peak MB, outcome, seconds) of a fresh process classifying `data`."""
    with tempfile.NamedTemporaryFile(suffix=".img") as file:
        file.write(data)
        file.flush()
        out = subprocess.run([sys.executable, "-c", CHILD, file.name], cwd=ROOT, capture_output=True, text=True, check=True)
    before, peak, outcome, seconds = out.stdout.split()[-4:]
    return float(before), float(peak), outcome, float(seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    args = parser.parse_args(argv)
    rows = []
    for name, mode, fmt, pixels, transparency in CASES:
        pixels = pixels or largest_accepted(mode, fmt, transparency)
        data = photo(mode, pixels, fmt, transparency)
        before, peak, outcome, seconds = measure(data)
        rows.append(
            {
                "photo": name,
                "pixels": pixels,
                "file_bytes": len(data),
                "outcome": outcome,
                "rss_before_mb": round(before, 1),
                "peak_rss_mb": round(peak, 1),
                "seconds": round(seconds, 2),
            }
        )
        if not args.json:
            print(
                f"{name:52} {pixels:>11,} px {len(data):>11,} B  {outcome:18} peak {peak:7.1f} MB "
                f"(before {before:6.1f} MB)  {seconds:6.2f} s",
                flush=True,
            )
    worst = max(row["peak_rss_mb"] for row in rows if row["outcome"] == "classified")
    if args.json:
        print(json.dumps({"rows": rows, "worst_accepted_peak_mb": worst}, indent=2))
    else:
        print(f"worst accepted photo: {worst} MB peak: {memory_verdict(worst, template_parameters()['MemorySize'])}")


if __name__ == "__main__":
    main()
