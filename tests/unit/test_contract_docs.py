"""docs/API.md and docs/openapi.yaml say what the code does: a valid OpenAPI 3 description,
and the error codes with the statuses of catbreed/errors.py's one table."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from catbreed.errors import STATUS_OF_CODE

from ..helpers import CONTRACT, ROOT, contract_document


def test_openapi_description_is_valid() -> None:
    validate(contract_document(), base_uri=CONTRACT.as_uri())


def test_openapi_lists_each_status_with_exactly_its_codes() -> None:
    schemas = contract_document()["components"]["schemas"]
    documented = {
        int(name.removeprefix("Error")): set(schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"])
        for name, schema in schemas.items()
        if re.fullmatch(r"Error\d{3}", name)
    }
    in_code: dict[int, set[str]] = {}
    for code, status in STATUS_OF_CODE.items():
        in_code.setdefault(status, set()).add(code)
    assert documented == in_code


def test_api_md_error_table_is_the_code_table() -> None:
    rows = re.findall(r"^\| `(\w+)` \| (\d{3}) \|", (ROOT / "docs" / "API.md").read_text(), flags=re.MULTILINE)
    assert dict((code, int(status)) for code, status in rows) == STATUS_OF_CODE
    assert len(rows) == len(STATUS_OF_CODE)  # no code twice


def test_the_readme_points_to_the_contract() -> None:
    assert "docs/API.md" in (ROOT / "README.md").read_text()


def test_the_project_the_package_and_the_contract_have_one_version() -> None:
    """Written once, in catbreed/__init__.py: pyproject.toml has none of its own but reads that
    one (setuptools' dynamic version), and the contract states the same."""
    import tomllib

    import catbreed

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "catbreed.__version__"}
    assert contract_document()["info"]["version"] == catbreed.__version__
