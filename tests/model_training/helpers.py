"""Helpers of the training tests: the tiny generated photo set's breeds and how a photo of one
is drawn; archives of the Oxford-IIIT Pet layout and a server for them on 127.0.0.1."""

from __future__ import annotations

import colorsys
import hashlib
import io
import tarfile
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import numpy as np
from PIL import Image, ImageDraw

from training.oxford_pets import Archive

BREEDS = ("Red_Tabby", "Blue_Point", "Green_Eyed")


def draw_photo(breed_index: int, seed: int) -> Image.Image:
    """A 96x80 picture whose colour and stripes depend on the breed, jittered by seed."""
    rng = np.random.default_rng(seed)
    base = np.array([[200, 60, 40], [50, 80, 200], [40, 170, 60]][breed_index]) + rng.integers(-25, 25, 3)
    image = Image.new("RGB", (96, 80), tuple(int(c) for c in np.clip(base, 0, 255)))
    draw = ImageDraw.Draw(image)
    for _i in range(3 + breed_index * 2):
        x = int(rng.integers(0, 90))
        draw.line([(x, 0), (x + 20, 80)], fill=(255, 255, 255), width=2 + breed_index)
    return image


def draw_breed(breed_index: int, seed: int, breeds: int = 12) -> Image.Image:
    """A 96x80 picture of one of `breeds` drawn breeds: its hue, and thin or thick stripes at
    random places (so that no two pictures are near-duplicates), jittered by seed."""
    rng = np.random.default_rng(seed)
    hue = (breed_index % (breeds // 2)) / (breeds // 2) + rng.uniform(-0.02, 0.02)
    value = 0.9 if breed_index < breeds // 2 else 0.45
    colour = tuple(int(255 * c) for c in colorsys.hsv_to_rgb(hue % 1.0, 0.85, value))
    image = Image.new("RGB", (96, 80), colour)
    draw = ImageDraw.Draw(image)
    for _i in range(4):
        x = int(rng.integers(0, 90))
        draw.line([(x, 0), (x + 20, 80)], fill=(255, 255, 255), width=2 + 3 * (breed_index % 2))
    return image


def tar_bytes(files: dict[str, bytes], gzip: bool) -> bytes:
    """A tar archive (gzipped or not) holding `files`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gzip else "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def published(name: str, data: bytes) -> Archive:
    return Archive(name, len(data), hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest())


class ArchiveServer(BaseHTTPRequestHandler):
    """Serves `files` (name -> bytes), honouring Range unless `ignore_range`; `cut_after` bytes of a body and
    the connection drops; every request's path and Range header is kept in `seen`."""

    files: ClassVar[dict[str, bytes]] = {}
    ignore_range: ClassVar[bool] = False
    cut_after: ClassVar[int | None] = None
    seen: ClassVar[list[tuple[str, str | None]]] = []
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Range")))
        data = self.files.get(self.path.rsplit("/", 1)[-1])
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, status = 0, 200
        wanted = self.headers.get("Range")
        if wanted and not self.ignore_range:
            start, status = int(wanted.removeprefix("bytes=").rstrip("-")), 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if self.cut_after is not None:
            self.wfile.write(body[: self.cut_after])
            self.close_connection = True
            return
        self.wfile.write(body)
