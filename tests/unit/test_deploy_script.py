"""scripts/deploy.sh, dry run: the bulk input prefix it deploys is always a folder."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "scripts" / "deploy.sh"


@pytest.mark.parametrize(
    ("location", "prefix"),
    [("s3://archive/photos", "photos/"), ("s3://archive/photos/", "photos/"), ("s3://archive/a/b", "a/b/")],
)
def test_the_bulk_prefix_is_a_folder_never_the_start_of_a_name(location: str, prefix: str) -> None:
    out = subprocess.run([str(DEPLOY), "--dry-run", "--bulk", location], capture_output=True, text=True, check=True).stdout
    assert set(re.findall(r"BulkInputPrefix=(\S*)", out)) == {prefix}
    assert "BulkInputBucket=archive" in out


@pytest.mark.parametrize("location", ["s3://archive", "s3://archive/", "s3://archive/uploads", "s3://archive/feedback/x"])
def test_a_bulk_prefix_of_the_whole_bucket_or_of_owners_photos_is_refused(location: str) -> None:
    done = subprocess.run([str(DEPLOY), "--dry-run", "--bulk", location], capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("deploy.sh: --bulk needs a folder")


def test_missing_tools_are_named_in_one_line_before_anything_starts(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with bash and dirname only: no sam, docker or aws
    bin_dir.mkdir()
    for tool in ("bash", "dirname"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    done = subprocess.run([str(DEPLOY)], capture_output=True, text=True, env={"PATH": str(bin_dir)}, timeout=30)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("deploy.sh: not found: ") and "command not found" not in line
    assert "docker (" in line and "aws (" in line
    has_venv_sam = (DEPLOY.parents[1] / ".venv" / "bin" / "sam").exists()
    assert ("sam (" in line) is not has_venv_sam  # found in .venv after `make test`, else named with where to get it
    assert has_venv_sam or ".venv/bin/sam" in line
    assert done.stdout == ""
