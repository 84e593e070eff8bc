"""catbreed: the cat-breed classifier's inference package (serving and shared preprocessing)."""

__version__ = "2026.12.1"
