"""`gtm schema`: a JSON Schema that every valid zone file meets and that catches what an
editor should flag (unknown keys, wrong types, a policy with two kinds)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gtm.config import zone_files
from gtm.config.schema import zone_schema
from tests.helpers import EXAMPLE, SEMANTICS

SCHEMA = zone_schema()
VALID = [*zone_files(EXAMPLE), *zone_files(SEMANTICS)]


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_bundled_zones_meet_the_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text()), SCHEMA)


def mutated(change: str) -> dict[str, Any]:
    zone: dict[str, Any] = copy.deepcopy(
        yaml.safe_load((EXAMPLE / "gtm.example.test.yaml").read_text())
    )
    if change == "unknown top-level key":
        zone["polices"] = {}
    elif change == "misspelled pool key":
        zone["pools"]["eu-west"]["endpoint"] = ["192.0.2.1"]
    elif change == "check type":
        zone["checks"]["web"]["type"] = "htp"
    elif change == "two kinds in one policy":
        zone["policies"]["www"]["failover"] = ["eu-west"]
    elif change == "bias out of range":
        zone["policies"]["www"]["geoproximity"]["us-east"]["bias"] = 150
    elif change == "no soa":
        del zone["soa"]
    elif change == "string ttl":
        zone["ttl"] = "long"
    elif change == "unknown record type":
        zone["records"]["@"]["SPF"] = ["v=spf1 -all"]
    elif change == "anycast damping":
        zone["anycast"]["damping"] = True
    return zone


@pytest.mark.parametrize(
    "change",
    ["unknown top-level key", "misspelled pool key", "check type", "two kinds in one policy",
     "bias out of range", "no soa", "string ttl", "unknown record type", "anycast damping"],
)  # fmt: skip
def test_the_schema_catches_mistakes(change: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(mutated(change), SCHEMA)
