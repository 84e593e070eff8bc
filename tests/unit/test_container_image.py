"""The container image holds what the function runs and nothing else: the files the
Dockerfile's COPY lines take from the build context that .dockerignore leaves (no Docker
needed to list them)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from ..helpers import ROOT


def ignore_rules() -> list[tuple[re.Pattern, bool]]:
    """.dockerignore as (pattern, excludes) in order; the last rule that matches wins."""
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        tokens = {"**/": "(.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}  # ** spans zero or more folders
        regex = "".join(tokens.get(part, re.escape(part)) for part in re.split(r"(\*\*/|\*\*|\*|\?)", pattern))
        rules.append((re.compile(regex), not negated))
    return rules


def in_context(path: str, rules: list[tuple[re.Pattern, bool]]) -> bool:
    """Whether Docker sends `path` (relative to the repository) in the build context."""
    parents = [str(Path(*Path(path).parts[: i + 1])) for i in range(len(Path(path).parts))]
    excluded = False
    for pattern, excludes in rules:
        if any(pattern.fullmatch(candidate) for candidate in parents):
            excluded = excludes
    return not excluded


def image_files() -> set[str]:
    """Paths under the task root that the Dockerfile's COPY lines put in the image."""
    rules = ignore_rules()
    files = set()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if not line.startswith("COPY "):
            continue
        *sources, target = shlex.split(line)[1:]
        if target.startswith("/tmp/"):
            continue  # build inputs, removed in the same RUN that uses them
        assert target.startswith("${LAMBDA_TASK_ROOT}"), line
        for source in sources:
            found = [source] if (ROOT / source).is_file() else [str(p.relative_to(ROOT)) for p in (ROOT / source).rglob("*")]
            files |= {path for path in found if (ROOT / path).is_file() and in_context(path, rules)}
    return files


def test_the_image_holds_only_the_runtime_package_the_model_and_the_handler() -> None:
    files = image_files()
    runtime = {str(p.relative_to(ROOT)) for p in (ROOT / "catbreed").glob("*.py")}
    assert {f for f in files if f.endswith(".py")} == runtime | {"lambda_function.py"}
    card = json.loads((ROOT / "model" / "model_card.json").read_text())
    assert {f for f in files if not f.endswith(".py")} == {f"model/{card['file']}", "model/model_card.json"}


def test_no_server_client_tests_or_training_code_in_the_image() -> None:
    for path in image_files():
        assert not re.search(r"server|client|tests?/|test_|training|catbreed_local|__pycache__", path), path


def test_the_runtime_package_does_not_reach_outside_what_the_image_holds() -> None:
    for module in (ROOT / "catbreed").glob("*.py"):
        source = module.read_text()
        assert "tests" not in re.findall(r"[\"'/](\w+)[\"'/]", source), module.name
        assert not re.search(r"^\s*(from|import) (bench|catbreed_local|training|tests)\b", source, re.MULTILINE), module.name
