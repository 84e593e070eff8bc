"""The promotion gate's command line: `python -m training.promote` (see there), runnable from
anywhere as `.venv/bin/python scripts/promote.py CANDIDATE_DIR [...]`; `make train` ends with it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    sys.exit(subprocess.call([sys.executable, "-m", "training.promote", *sys.argv[1:]], env=env))
