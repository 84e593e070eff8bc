"""scripts/deploy.sh, dry run: the bulk input prefix it deploys is always a folder."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "scripts" / "deploy.sh"


@pytest.mark.parametrize(
    ("location", "prefix"),
    [("s3://archive/photos", "photos/"), ("s3://archive/photos/", "photos/"), ("s3://archive/a/b", "a/b/"), ("s3://archive", "")],
)
def test_the_bulk_prefix_is_a_folder_never_the_start_of_a_name(location: str, prefix: str) -> None:
    out = subprocess.run([str(DEPLOY), "--dry-run", "--bulk", location], capture_output=True, text=True, check=True).stdout
    assert set(re.findall(r"BulkInputPrefix=(\S*)", out)) == {prefix}
    assert "BulkInputBucket=archive" in out
