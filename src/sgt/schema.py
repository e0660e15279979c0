"""A workflow config checked against its JSON schema, defaults filled in. A base module: evaluations and the
budget read config files the way the workflow does without importing the cross-layer checks of
``sgt.config``, which sit on top.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from sgt.io import read_yaml


class ConfigError(ValueError):
    """A config value that is well-formed but inconsistent with the rest of the config."""


def validate_config(config: MutableMapping[str, Any], schema_path: str | Path) -> None:
    """Check ``config`` against the JSON schema (a YAML file) and fill in its defaults, in place.

    The same check as ``snakemake.utils.validate(config, schema)`` (Draft 2020-12, defaults set on the way
    down). Snakemake loads the schema through a pure-Python YAML templater, which alone took a twentieth of
    the paper study's dry run (benchmarks/dry_run.py); libyaml loads it in a millisecond.
    """
    from jsonschema import Draft202012Validator, ValidationError, validators

    schema = read_yaml(schema_path)
    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def properties_with_defaults(
        validator: Any, properties: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if isinstance(instance, MutableMapping):
            for name, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from check_properties(validator, properties, instance, schema)

    validator = validators.extend(Draft202012Validator, {"properties": properties_with_defaults})(schema)
    error = next(iter(validator.iter_errors(config)), None)
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "the top level"
        raise ConfigError(f"config {where}: {error.message} (schema: {schema_path})")
