"""How to read an input: its format and the defaults every line inherits.

Resolved once (by the CLI or the Python API) and passed along; per-line values override it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from batchgraph.errors import ConfigError
from batchgraph.model import JSON, Kind, OutputSchema


class InputFormat(StrEnum):
    """The input layouts batchgraph reads."""

    JSONL = "jsonl"
    """One JSON object per line: `id`, and `prompt` or `messages`, plus optional settings."""
    OPENAI_BATCH = "openai-batch"
    """OpenAI's own batch input lines (`custom_id`, `method`, `url`, `body`)."""
    ANTHROPIC_BATCH = "anthropic-batch"
    """Anthropic's Message Batches requests (`custom_id`, `params`)."""
    MISTRAL_BATCH = "mistral-batch"
    """Mistral's batch input lines (`custom_id`, `body`, no `url`)."""
    CSV = "csv"
    PARQUET = "parquet"

    @property
    def is_table(self) -> bool:
        return self in (InputFormat.CSV, InputFormat.PARQUET)


_EXTENSIONS = {
    ".jsonl": InputFormat.JSONL,
    ".json": InputFormat.JSONL,
    ".ndjson": InputFormat.JSONL,
    ".csv": InputFormat.CSV,
    ".parquet": InputFormat.PARQUET,
    ".pq": InputFormat.PARQUET,
}


def format_from_extension(path: Path) -> InputFormat:
    """The format a file's extension names; JSONL files are told apart later by their lines."""
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        known = ", ".join(sorted(_EXTENSIONS))
        raise ConfigError(
            f"{path}: cannot tell the format from the extension {path.suffix!r} — "
            f"rename the file to end in one of {known}"
        )
    return found


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """Defaults for every request of an input, and how to read it.

    `format=None` means: from the extension, and for JSONL from the first line's keys.
    `kind=None` means: per line (an `input` without `prompt`/`messages` is an embedding);
    for tables it means chat. `template` and `id_column` apply to tables only.
    """

    format: InputFormat | None = None
    model: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    kind: Kind | None = None
    output_schema: OutputSchema | None = None
    template: str | None = None
    id_column: str | None = None
    params: Mapping[str, JSON] = field(default_factory=dict)
    """Job-wide options in the common vocabulary (`--param top_p=0.9`); lines override them."""

    def with_schema_file(self, path: Path) -> ReadOptions:
        """These options with the output schema read from a JSON schema file."""
        return replace(self, output_schema=load_output_schema(path))

    def to_json(self) -> dict[str, JSON]:
        """A JSON form to keep with a job, so its results can be matched to the input later."""
        out: dict[str, JSON] = {}
        for key in ("model", "system", "temperature", "max_tokens", "template", "id_column"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.format is not None:
            out["format"] = self.format.value
        if self.kind is not None:
            out["kind"] = self.kind.value
        if self.output_schema is not None:
            out["output_schema"] = {
                "name": self.output_schema.name,
                "schema": self.output_schema.schema,
            }
        if self.params:
            out["params"] = dict(self.params)
        return out

    @classmethod
    def from_json(cls, data: dict[str, JSON]) -> ReadOptions:
        schema = data.get("output_schema")
        return cls(
            format=InputFormat(data["format"]) if "format" in data else None,
            model=data.get("model"),
            system=data.get("system"),
            temperature=data.get("temperature"),
            max_tokens=data.get("max_tokens"),
            kind=Kind(data["kind"]) if "kind" in data else None,
            output_schema=OutputSchema(schema["name"], schema["schema"]) if schema else None,
            template=data.get("template"),
            id_column=data.get("id_column"),
            params=data.get("params") or {},
        )


def load_output_schema(path: Path) -> OutputSchema:
    """Read a JSON schema file; the schema is named after the file's stem."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: no such schema file — check the path") from err
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"{path}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}) — "
            "fix the schema file"
        ) from err
    if not isinstance(schema, dict):
        raise ConfigError(f"{path}: a JSON schema must be an object — wrap it in {{...}}")
    import jsonschema  # a tenth of a second to import; only schema files need it

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as err:
        raise ConfigError(f"{path}: not a valid JSON schema ({err.message}) — fix it") from err
    return OutputSchema(name=path.stem, schema=schema)


def parse_params(pairs: list[str]) -> dict[str, JSON]:
    """`--param KEY=VALUE` options as a dict: VALUE is JSON, or else taken as a string."""
    from batchgraph.params import CHAT_PARAMS, EMBEDDING_PARAMS, check_params

    known = {**CHAT_PARAMS, **EMBEDDING_PARAMS}
    params: dict[str, JSON] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        if not equals or key not in known:
            raise ConfigError(
                f"--param {pair!r}: write KEY=VALUE with KEY one of {', '.join(known)}"
            )
        try:
            params[key] = json.loads(text)
        except ValueError:
            params[key] = text
    _, problems = check_params(params, known)
    if problems:
        problem, fix = problems[0]
        raise ConfigError(f"--param {problem} — {fix}")
    return params
