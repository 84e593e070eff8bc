"""`make data` (training/oxford_pets.py) against a server on 127.0.0.1 serving archives of the
Oxford-IIIT Pet layout, made here from the fixture photos: the cats land in
<out>/<Breed>/*.jpg under the names GET /breeds uses, dogs do not; a partial download resumes
with a Range request; no network, a checksum that differs and a full disk each end in one
line. No test reaches beyond loopback (tests/conftest.py's network guard fails it)."""

from __future__ import annotations

import errno
import io
import json
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from training import oxford_pets
from training.data import read_folder_root

from ..helpers import FIXTURES, ROOT, running
from .helpers import ArchiveServer, published, tar_bytes

CAT = (FIXTURES / "cat_chelsea.jpg").read_bytes()
DOG = (FIXTURES / "dog_0e71d68f01a08be9.jpg").read_bytes()
LIST = """#Image CLASS-ID SPECIES BREED ID
#ID: 1:37 Class ids
#SPECIES: 1:Cat 2:Dog
Abyssinian_1 1 1 1
British_Shorthair_2 10 1 6
beagle_3 5 2 3
Egyptian_Mau_4 12 1 7
"""


def png_of(jpeg: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(buffer, "PNG")
    return buffer.getvalue()


# Like the real archives: images/ holds every photo (a few are not JPEGs inside, a few are not
# listed in annotations/list.txt) and stray files; the images archive is a plain tar named
# .tar.gz (as the real one is), the annotations archive a gzipped one.
IMAGES = tar_bytes(
    {
        "images/Abyssinian_1.jpg": CAT,
        "images/British_Shorthair_2.jpg": png_of(CAT),  # a PNG named .jpg
        "images/beagle_3.jpg": DOG,
        "images/Egyptian_Mau_4.jpg": b"not a photo at all",
        "images/Maine_Coon_5.jpg": CAT,  # not in list.txt: a cat by the dataset's capitalised names
        "images/newfoundland_6.jpg": DOG,  # not in list.txt: a dog
        "images/Abyssinian_100.mat": b"MATLAB",
    },
    gzip=False,
)
ANNOTATIONS = tar_bytes({"annotations/list.txt": LIST.encode(), "annotations/trimaps/Abyssinian_1.png": b"x"}, gzip=True)


@pytest.fixture()
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The two archives on 127.0.0.1, with their checksums as the published ones."""
    monkeypatch.setattr(ArchiveServer, "files", {"images.tar.gz": IMAGES, "annotations.tar.gz": ANNOTATIONS})
    monkeypatch.setattr(ArchiveServer, "seen", [])
    monkeypatch.setattr(ArchiveServer, "ignore_range", False)
    monkeypatch.setattr(ArchiveServer, "cut_after", None)
    archives = (published("images.tar.gz", IMAGES), published("annotations.tar.gz", ANNOTATIONS))
    monkeypatch.setattr(oxford_pets, "ARCHIVES", archives)
    server = ThreadingHTTPServer(("127.0.0.1", 0), ArchiveServer)
    server.daemon_threads = True
    with running(server) as url:
        yield f"{url}/~vgg/data/pets/data"


def make_data(tmp_path: Path, base_url: str) -> int:
    out, downloads = tmp_path / "data" / "cats" / "oxford", tmp_path / "data" / "downloads"
    return oxford_pets.main(["--out", str(out), "--downloads", str(downloads), "--base-url", base_url])


def error_lines(captured: str) -> list[str]:
    assert "Traceback" not in captured
    return [line for line in captured.splitlines() if line.startswith("make data:")]


def test_the_cats_are_laid_out_by_breed_as_get_breeds_names_them(site: str, tmp_path: Path, capsys) -> None:
    assert make_data(tmp_path, site) == 0
    out = tmp_path / "data" / "cats" / "oxford"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["Abyssinian", "British_Shorthair", "Maine_Coon"]
    assert (out / "Abyssinian" / "Abyssinian_1.jpg").read_bytes() == CAT
    converted = (out / "British_Shorthair" / "British_Shorthair_2.jpg").read_bytes()
    assert Image.open(io.BytesIO(converted)).format == "JPEG"  # the PNG inside became a JPEG
    assert "Parkhi" in (out / "README.txt").read_text() and "CC BY-SA 4.0" in (out / "README.txt").read_text()
    samples = read_folder_root(out)
    card = json.loads((ROOT / "model" / "model_card.json").read_text())
    assert {s.breed for s in samples} == {"Abyssinian", "British Shorthair", "Maine Coon"} <= set(card["breeds"])
    assert {s.source for s in samples} == {"oxford"}  # the curated root's name
    assert capsys.readouterr().out.strip().endswith("3 photos of 3 cat breeds (1 unreadable left out)")
    assert make_data(tmp_path, site) == 0  # a second run finds everything there and fetches nothing
    assert [path for path, _ in ArchiveServer.seen] == [
        "/~vgg/data/pets/data/images.tar.gz",
        "/~vgg/data/pets/data/annotations.tar.gz",
    ]


def test_a_partial_download_resumes_with_a_range_request(site: str, tmp_path: Path) -> None:
    downloads = tmp_path / "data" / "downloads"
    downloads.mkdir(parents=True)
    half = len(IMAGES) // 2
    (downloads / "images.tar.gz.part").write_bytes(IMAGES[:half])
    assert make_data(tmp_path, site) == 0
    assert ArchiveServer.seen[0] == ("/~vgg/data/pets/data/images.tar.gz", f"bytes={half}-")
    assert (downloads / "images.tar.gz").read_bytes() == IMAGES
    assert not (downloads / "images.tar.gz.part").exists()


def test_a_server_that_ignores_the_range_starts_the_file_over(site: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ArchiveServer, "ignore_range", True)
    downloads = tmp_path / "data" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "images.tar.gz.part").write_bytes(IMAGES[:1000])
    assert make_data(tmp_path, site) == 0
    assert (downloads / "images.tar.gz").read_bytes() == IMAGES  # not the first 1000 bytes twice


def test_a_dropped_connection_is_one_line_and_the_next_run_resumes(site: str, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(ArchiveServer, "cut_after", 4096)
    assert make_data(tmp_path, site) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "run make data again" in line
    part = tmp_path / "data" / "downloads" / "images.tar.gz.part"
    assert part.read_bytes() == IMAGES[:4096]
    monkeypatch.setattr(ArchiveServer, "cut_after", None)
    assert make_data(tmp_path, site) == 0
    assert ArchiveServer.seen[-2][1] == "bytes=4096-"  # the images resumed where they stopped
    assert (tmp_path / "data" / "cats" / "oxford" / "Abyssinian" / "Abyssinian_1.jpg").exists()


def test_an_archive_whose_checksum_differs_is_refused_and_deleted(site: str, tmp_path: Path, monkeypatch, capsys) -> None:
    tampered = bytearray(ANNOTATIONS)
    tampered[-1] ^= 0xFF  # same size, one bit pattern changed
    monkeypatch.setitem(ArchiveServer.files, "annotations.tar.gz", bytes(tampered))
    assert make_data(tmp_path, site) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "annotations.tar.gz: checksum differs from the published one" in line
    downloads = tmp_path / "data" / "downloads"
    assert sorted(p.name for p in downloads.iterdir()) == ["images.tar.gz"]  # the bad file is gone, the good one kept
    assert not (tmp_path / "data" / "cats").exists()


def test_no_network_is_one_line(tmp_path: Path, capsys) -> None:
    """The dataset's real address: in tests no name resolves (tests/conftest.py), as offline."""
    assert make_data(tmp_path, oxford_pets.BASE_URL) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert line.startswith(f"make data: cannot reach {oxford_pets.BASE_URL}") and "check the network" in line


def test_a_refused_connection_is_one_line(tmp_path: Path, capsys) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ArchiveServer)
    port = server.server_address[1]
    server.server_close()  # nothing listens there now
    assert make_data(tmp_path, f"http://127.0.0.1:{port}/pets") == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "cannot reach" in line


def test_a_full_disk_is_one_line(site: str, tmp_path: Path, capsys) -> None:
    """The partial download is /dev/full, where every write fails with ENOSPC, as on a full disk."""
    downloads = tmp_path / "data" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "images.tar.gz.part").symlink_to("/dev/full")
    assert make_data(tmp_path, site) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert line.startswith("make data: the disk is full")


def test_a_site_answering_404_is_one_line(site: str, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(ArchiveServer, "files", {})
    assert make_data(tmp_path, site) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "answered 404" in line


def test_an_interrupted_extraction_leaves_no_half_root(site: str, tmp_path: Path, monkeypatch) -> None:
    """The root appears only complete: a run that fails while writing photos leaves none."""
    written: list[Path] = []

    def failing(path: Path, data: bytes) -> int:
        written.append(path)
        if len(written) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    real = Path.write_bytes
    monkeypatch.setattr(Path, "write_bytes", failing)
    assert make_data(tmp_path, site) == 1
    assert not (tmp_path / "data" / "cats" / "oxford").exists()
    monkeypatch.setattr(Path, "write_bytes", real)
    assert make_data(tmp_path, site) == 0
    assert sum(1 for _ in (tmp_path / "data" / "cats" / "oxford").glob("*/*.jpg")) == 3
