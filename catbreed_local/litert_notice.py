"""LiteRT's one line of noise: when a model loads, its C++ writes "INFO: Created TensorFlow
Lite XNNPACK delegate for CPU." straight to the process's stderr. The local server and each
bulk worker hold it back."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

XNNPACK_NOTICE = b"INFO: Created TensorFlow Lite XNNPACK delegate"


@contextlib.contextmanager
def without_xnnpack_notice() -> Iterator[None]:
    """Hold back LiteRT's "Created ... XNNPACK delegate" line (written by C++ straight to the
    process's stderr when the model loads); anything else written meanwhile is passed on."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().splitlines(keepends=True):
                if not line.startswith(XNNPACK_NOTICE):
                    sys.stderr.buffer.write(line)
            sys.stderr.flush()
