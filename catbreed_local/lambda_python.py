"""Lambda's Python (3.12) on this machine, for the steps that must match it: the runtime
wheels (scripts/setup.sh), the runtime-venv test, the benchmark's install size.

    python -m catbreed_local.lambda_python    # prints its path, or nothing when there is none
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess


def lambda_python() -> str | None:
    """A working python3.12 from PATH or pyenv (the newest patch release); None when there is none."""
    pyenv = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")), reverse=True)
    candidates = [*pyenv, shutil.which("python3.12")]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", "import venv"], capture_output=True).returncode == 0:
            return candidate
    return None


if __name__ == "__main__":
    print(lambda_python() or "")
