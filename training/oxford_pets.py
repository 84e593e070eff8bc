"""`make data`: the cat photos of the Oxford-IIIT Pet dataset, from the dataset's own site,
laid out as a training root: `data/cats/oxford/<Breed>/*.jpg` (breed folders with
underscores, as `GET /breeds` spells them with spaces: `British_Shorthair`).

    .venv/bin/python -m training.oxford_pets [--out data/cats/oxford] [--downloads data/downloads]

Both archives (images and annotations) are downloaded into --downloads as `NAME.part`,
resuming a partial file with an HTTP Range request, checked against their published size,
MD5 and SHA-256, and renamed to NAME once they match. The 12 cat breeds (species 1 in
`annotations/list.txt`; for the few images it does not list, the dataset's own convention:
cat breeds are capitalised) are written to a staging folder that becomes --out only when
complete. A photo that is not a JPEG inside is re-encoded as one. No network, a checksum
that differs or a full disk end the run with one line and exit status 1; run it again to
resume. The dataset's terms: docs/training-data.md.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import http.client
import io
import re
import shutil
import sys
import tarfile
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from catbreed_local.progress import progress

BASE_URL = "https://www.robots.ox.ac.uk/~vgg/data/pets/data"
CHUNK = 1 << 20
TIMEOUT_S = 60
CAT = "1"  # the SPECIES column of annotations/list.txt: 1 cat, 2 dog
PHOTO = re.compile(r"^images/([A-Za-z]+(?:_[A-Za-z]+)*)_(\d+)\.jpg$")
TERMS = """Oxford-IIIT Pet dataset, cat breeds only (fetched by `make data`).
O. M. Parkhi, A. Vedaldi, A. Zisserman, C. V. Jawahar, "Cats and Dogs", CVPR 2012.
https://www.robots.ox.ac.uk/~vgg/data/pets/
Annotations: CC BY-SA 4.0. The photos' copyright stays with their owners: train and
validate on them, do not redistribute them.
"""


@dataclass(frozen=True)
class Archive:
    """One archive of the dataset and its published size and checksums."""

    name: str
    size: int
    md5: str
    sha256: str


# Published checksums, copied from their sources, never computed here:
# - MD5: torchvision, torchvision/datasets/oxford_iiit_pet.py, OxfordIIITPet._RESOURCES
#   (pytorch/vision, commit 036a3dae369e07fde895ef22e11d30f7726b1cf7), for these two URLs.
# - size and SHA-256: TensorFlow Datasets, tensorflow_datasets/datasets/oxford_iiit_pet/checksums.tsv
#   (tensorflow/datasets, commit 0e9172b5521d740222f9aca5a7a92bcc546546ce), which lists the same two
#   archives under the dataset site's thor.robots.ox.ac.uk address.
ARCHIVES = (
    Archive(
        "images.tar.gz",
        791_918_971,
        "5c4f3ee8e5d25df40f4fd59a7f44e54c",
        "67195c5e1c01f1ab5f9b6a5d22b8c27a580d896ece458917e61d459337fa318d",
    ),
    Archive(
        "annotations.tar.gz",
        19_173_078,
        "95a8c909bbe2e81eed6a22bccdf3f68f",
        "52425fb6de5c424942b7626b428656fcbd798db970a937df61750c0f1d358e91",
    ),
)


class FetchError(Exception):
    """What stopped `make data`, in one line a person can act on."""


def download(url: str, archive: Archive, part: Path) -> None:
    """Fetch `url` into `part`, resuming what is there with a Range request (from scratch
    when the server ignores it), with a progress bar."""
    have = part.stat().st_size if part.exists() else 0
    if have > archive.size:
        part.unlink()
        have = 0
    if have == archive.size:
        return
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        resumed = have and response.status == 206 and response.headers.get("Content-Range", "").startswith(f"bytes {have}-")
        have = have if resumed else 0
        bar = progress(total=archive.size, initial=have, unit="B", unit_scale=True, desc=archive.name)
        try:
            with part.open("ab" if resumed else "wb") as out:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        finally:
            bar.close()
    got = part.stat().st_size
    if got != archive.size:
        raise FetchError(f"{archive.name}: the download stopped at {got:,} of {archive.size:,} bytes; run make data again")


def digests(path: Path) -> tuple[str, str]:
    """(MD5, SHA-256) of a file, in one pass."""
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            md5.update(chunk)
            sha256.update(chunk)
    return md5.hexdigest(), sha256.hexdigest()


def fetch(base_url: str, archive: Archive, downloads: Path) -> Path:
    """The archive, downloaded (or resumed) and checked; a file that does not match its
    published checksums is deleted, so the next run fetches it afresh."""
    final = downloads / archive.name
    if final.exists() and final.stat().st_size == archive.size:
        return final  # checked when it was renamed
    downloads.mkdir(parents=True, exist_ok=True)
    part = downloads / f"{archive.name}.part"
    download(f"{base_url.rstrip('/')}/{archive.name}", archive, part)
    md5, sha256 = digests(part)
    if (md5, sha256) != (archive.md5, archive.sha256):
        part.unlink()
        raise FetchError(
            f"{archive.name}: checksum differs from the published one (MD5 {md5}, expected {archive.md5}); "
            "the file was deleted: run make data again, and if it differs again the site's archive has changed"
        )
    part.rename(final)
    return final


def cat_species(annotations: Path) -> dict[str, bool]:
    """Image name -> whether it is a cat, from annotations/list.txt ("Image CLASS-ID SPECIES BREED-ID")."""
    with tarfile.open(annotations, "r:*") as tar:
        member = next((m for m in tar if m.name.endswith("annotations/list.txt")), None)
        if member is None:
            raise FetchError(f"{annotations.name} holds no annotations/list.txt: not the Oxford-IIIT Pet annotations")
        text = tar.extractfile(member).read().decode("utf-8")
    rows = (line.split() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {row[0]: row[2] == CAT for row in rows if len(row) >= 3}


def as_jpeg(data: bytes) -> bytes | None:
    """The photo as JPEG bytes (the file itself when it is one), None when unreadable."""
    if data[:3] == b"\xff\xd8\xff":
        return data
    try:
        with Image.open(io.BytesIO(data)) as image:
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "JPEG", quality=95)
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    return buffer.getvalue()


def extract_cats(images: Path, species: dict[str, bool], out: Path) -> Counter:
    """Write every cat photo of the images archive to `out/<Breed>/<name>.jpg` through a
    staging folder renamed to `out` at the end; returns photos per breed (and "unreadable")."""
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    counts: Counter = Counter()
    with tarfile.open(images, "r:*") as tar:
        for member in progress(tar, unit=" files", desc="cats"):
            match = PHOTO.match(member.name) if member.isfile() else None
            if not match:
                continue
            stem, breed = f"{match[1]}_{match[2]}", match[1]
            if not species.get(stem, breed[0].isupper()):  # unlisted: cat breeds are capitalised
                continue
            photo = as_jpeg(tar.extractfile(member).read())
            if photo is None:
                counts["unreadable"] += 1
                continue
            (staging / breed).mkdir(parents=True, exist_ok=True)
            (staging / breed / f"{stem}.jpg").write_bytes(photo)
            counts[breed] += 1
    (staging / "README.txt").write_text(TERMS)
    staging.rename(out)
    return counts


def make_data(out: Path, downloads: Path, base_url: str = BASE_URL, archives: tuple[Archive, ...] = ARCHIVES) -> Counter:
    """Fetch, check and lay out the cats; nothing to do when `out` is already there."""
    if out.exists():
        return Counter({p.name: sum(1 for _ in p.glob("*.jpg")) for p in out.iterdir() if p.is_dir()})
    paths = {archive.name: fetch(base_url, archive, downloads) for archive in archives}
    out.parent.mkdir(parents=True, exist_ok=True)
    return extract_cats(paths["images.tar.gz"], cat_species(paths["annotations.tar.gz"]), out)


def one_line(error: BaseException, base_url: str) -> str:
    """What went wrong, for a person: no network, the site's answer, a full disk."""
    if isinstance(error, FetchError):
        return str(error)
    if isinstance(error, urllib.error.HTTPError):
        return f"the dataset site answered {error.code} {error.reason} for {error.url}; try again later"
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return "the disk is full (the two archives alone take 811 MB); free some space and run make data again: it resumes"
    reason = getattr(error, "reason", None) or error
    return f"cannot reach {base_url} ({reason}); check the network and run make data again (the download resumes)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("data/cats/oxford"))
    parser.add_argument("--downloads", type=Path, default=Path("data/downloads"), help="where the archives are kept")
    parser.add_argument("--base-url", default=BASE_URL, help="where the two archives are (a mirror, or a test server)")
    args = parser.parse_args(argv)
    try:
        counts = make_data(args.out, args.downloads, args.base_url, ARCHIVES)
    except (FetchError, OSError, http.client.HTTPException) as error:  # URLError and timeouts are OSErrors
        print(f"make data: {one_line(error, args.base_url)}", file=sys.stderr)
        return 1
    unreadable = counts.pop("unreadable", 0)
    left_out = f" ({unreadable} unreadable left out)" if unreadable else ""
    print(f"{args.out}: {sum(counts.values()):,} photos of {len(counts)} cat breeds{left_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
