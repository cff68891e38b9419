"""A chat model's calls as a batchgraph job: written as a JSONL input, read back as messages.

The input file is named after its content, so the same calls make the same file, and
`Batchgraph.submit` returns the job that exists for it: a script that calls `.batch` again
after a crash resumes its job instead of paying twice.
"""

from __future__ import annotations

import hashlib
import json
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
    text = "".join(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n" for line in lines)
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    folder = data_dir / INPUTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.jsonl"
    if not path.exists():
        partial = path.with_suffix(".part")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    return path


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
        return bg.submit(path, provider=provider, options=read_options(model))


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
