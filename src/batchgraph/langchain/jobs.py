"""A chat model's calls as a batchgraph job: written as a JSONL input, read back as messages.

The input file is named after its content, so the same calls make the same file, and
`Batchgraph.submit` returns the job that exists for it: a script that calls `.batch` again
after a crash resumes its job instead of paying twice.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchgraph.api import Batchgraph
from batchgraph.errors import ConfigError
from batchgraph.io import ReadOptions
from batchgraph.langchain.convert import ai_message
from batchgraph.model import JSON, OutputSchema
from batchgraph.runner.loop import Backoff, run_job

if TYPE_CHECKING:
    from batchgraph.langchain.chat_model import BatchChatModel

INPUTS_DIR = "model-inputs"


def open_store(model: BatchChatModel) -> Batchgraph:
    return Batchgraph.open(model.db, data_dir=model.data_dir)


def write_input(data_dir: Path, lines: Iterable[dict[str, JSON]]) -> Path:
    """The lines as a JSONL file in `data_dir`, named after its content."""
    writer = InputWriter(data_dir)
    try:
        for line in lines:
            writer.write(line)
    except BaseException:
        writer.discard()
        raise
    return writer.close()


class InputWriter:
    """A JSONL input written one line at a time and named after its content once closed.

    The lines go to a temporary file beside the inputs while their digest is taken, so a long
    input never sits in memory; `close` gives it its name (the same lines always make the same
    file, which may exist already).
    """

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / INPUTS_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self._digest = hashlib.sha256()
        self._handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by close/discard)
            "wb", dir=self.folder, suffix=".part", delete=False
        )

    def write(self, line: dict[str, JSON]) -> None:
        data = (json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n").encode()
        self._digest.update(data)
        self._handle.write(data)

    def close(self) -> Path:
        self._handle.close()
        partial = Path(self._handle.name)
        path = self.folder / f"{self._digest.hexdigest()[:32]}.jsonl"
        if path.exists():
            partial.unlink()
        else:
            partial.replace(path)
        return path

    def discard(self) -> None:
        self._handle.close()
        Path(self._handle.name).unlink(missing_ok=True)


def read_options(model: BatchChatModel) -> ReadOptions:
    schema = None
    if model.json_schema is not None:
        schema = OutputSchema(model.schema_name, model.json_schema)
    return ReadOptions(model=model.model, output_schema=schema)


def require_target(model: BatchChatModel) -> tuple[str, str]:
    """The model's provider and model name, which a call outside a flow must have."""
    if model.provider is None or model.model is None:
        raise ConfigError(
            "BatchChatModel needs provider= and model= outside a flow, for example "
            'BatchChatModel(provider="openai", model="gpt-4o-mini")'
        )
    return model.provider, model.model


def submit_lines(model: BatchChatModel, lines: list[dict[str, JSON]]) -> str:
    provider, _ = require_target(model)
    with open_store(model) as bg:
        path = write_input(bg.deps.data_dir, lines)
        return bg.submit(
            path,
            provider=provider,
            options=read_options(model),
            base_url=model.base_url,
            api_key_env=model.api_key_env,
        )


def job_answers(model: BatchChatModel, job_id: str, *, wait: bool) -> list[Any] | None:
    """Each request's `AIMessage`, or a `BatchCallFailed` saying why it has none."""
    from batchgraph.langchain.chat_model import BatchCallFailed

    with open_store(model) as bg:
        view = bg.view(job_id)
        if not view.finished:
            if not wait:
                return None
            run_job(bg, job_id, Backoff(initial=0.2, cap=model.poll_max))
        out: list[Any] = []
        for record in bg.store.result_records(job_id):
            if record["status"] == "succeeded":
                out.append(ai_message(record, str(model.provider), job_id))
            else:
                out.append(
                    BatchCallFailed(
                        f"request {record['id']} of job {job_id} {record['status']}: "
                        f"{record.get('error_message') or 'no answer'}"
                    )
                )
        return out
