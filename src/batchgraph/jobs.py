"""Creating a job: validate every line while writing the job and its ledger in one transaction.

A bad line rolls the transaction back, so a refused input leaves nothing behind, and a good one
is read once, not twice. The first round's chunks are planned on the way (`FirstRound`), so
the ledger rows are born in their chunks. Nothing is sent to a provider here; ticks submit.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Required, TypedDict

from batchgraph import intake
from batchgraph.errors import ConfigError
from batchgraph.execution import SYNC_CHUNK_SIZE, Execution
from batchgraph.io import (
    InputFormat,
    InputSummary,
    ReadOptions,
    require_input_file,
    resolve_format,
    validate_input,
    validated_requests,
)
from batchgraph.model import Request
from batchgraph.model_names import ModelCheck
from batchgraph.planning import FirstRound
from batchgraph.providers import HostAddress, adapter_class, check_address, registry
from batchgraph.store.base import ChunkMode, ChunkRecord, JobRecord, Store

if TYPE_CHECKING:
    from batchgraph.deps import Deps

DEFAULT_MAX_ATTEMPTS = 3


class JobSettings(TypedDict, total=False):
    """How a job is made, besides its input: `create_job`'s keyword arguments."""

    provider: Required[str]
    options: ReadOptions | None
    name: str | None
    max_attempts: int
    batch_size: int | None
    key: str | None
    job_id: str | None
    max_enqueued_tokens: int | None
    execution: Execution | None
    base_url: str | None
    api_key_env: str | None
    cache: bool


def new_job_id() -> str:
    """Short, unique and safe inside provider tags (letters and digits only)."""
    return secrets.token_hex(6)


def read_options_from(spec: dict[str, Any]) -> ReadOptions:
    """The reader options a job was submitted with (stored in its spec)."""
    return ReadOptions.from_json(spec["read"])


def job_key(
    path: Path,
    provider: str,
    options: ReadOptions,
    mode: str = "batch",
    base_url: str | None = None,
    cache: bool = True,
) -> str:
    """What makes two submits the same job: the input's bytes, the provider and the options.

    Two submits with the same key are one job (`Batchgraph.submit` returns the first), so a
    script re-run after a crash, or run twice by mistake, never pays again. Execution knobs
    (`--batch-size`, `--max-attempts`, the name) do not change the answers and are left out;
    the mode does (a synchronous job is paid at another price), so it is in, and so is the
    address of the user's own server (another server may serve another model), and so does
    turning the result cache off (that job asks for fresh answers).
    """
    digest = hashlib.sha256()
    settings: dict[str, object] = {"provider": provider, "read": options.to_json()}
    if mode != "batch":
        settings["mode"] = mode  # batch jobs keep the keys they had before modes existed
    if base_url:
        settings["base_url"] = base_url
    if not cache:
        settings["cache"] = False
    digest.update(json.dumps(settings, sort_keys=True, ensure_ascii=False).encode())
    digest.update(b"\0")
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def check_input(
    path: Path,
    provider: str,
    options: ReadOptions,
    each: Callable[[Request], object] | None = None,
) -> InputSummary:
    """Read every line and refuse the file, naming each bad line, before anything is sent.

    `each` sees every valid request (`io.validate_input`)."""
    require_input_file(path)
    refuse_unable(provider, options)
    return validate_input(path, options, check=adapter_class(provider).request_problem, each=each)


def refuse_unable(provider: str, options: ReadOptions) -> None:
    """Refuse, once and before reading a line, a kind of request the provider cannot take
    (`--embeddings` on Anthropic), instead of once for every line."""
    if options.kind is not None:
        problem = adapter_class(provider).kind_problem(options.kind)
        if problem is not None:
            raise ConfigError(f"--embeddings: {problem}")


def create_job(
    deps: Deps,
    *,
    input: str | Path,
    provider: str,
    options: ReadOptions | None = None,
    name: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    batch_size: int | None = None,
    key: str | None = None,
    job_id: str | None = None,
    max_enqueued_tokens: int | None = None,
    execution: Execution | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    cache: bool = True,
) -> str:
    """Validate `input` and store it as a new job; return the job id.

    With `cache` (the default) a request an earlier job answered (the same provider, model and
    request) is answered from the store at no cost, and requests repeated in the input are
    sent once, each of them getting the answer; `cache=False` sends every one (fresh samples).

    `base_url` and `api_key_env` say where the user's own server is and which variable holds
    its key (`--provider openai-compatible`); they are stored with the job, the key never.

    `execution` chooses batch or synchronous calls, their limits and a deadline; a host
    without a Batch API always runs synchronously.

    `options` are the reader's defaults and layout (model, system, template, …); `batch_size`
    caps the requests per provider batch below the provider's own limit. `key` is the job's
    identity for `find_job_by_key` (default: `job_key` of the input and options). `job_id`
    names the job (letters and digits; a new random one by default); the store refuses one
    that exists. The
    provider's client is built and its access checked first: a job whose key is missing or
    whose host cannot be reached is refused, not stored where no tick could ever send it.
    """
    path = Path(input).resolve()
    options = options or ReadOptions()
    require_input_file(path)
    if max_attempts < 1:
        raise ConfigError("--max-attempts must be at least 1")
    if batch_size is not None and batch_size < 1:
        raise ConfigError("--batch-size must be at least 1")
    if max_enqueued_tokens is not None and max_enqueued_tokens < 1:
        raise ConfigError("--max-enqueued-tokens must be at least 1")
    address = HostAddress(base_url, api_key_env)
    holder = address_holder(provider, execution.hedge_provider if execution else None)
    check_address(holder, address)
    fmt = resolve_format(path, options)
    refuse_unable(provider, options)
    now = time.time()
    execution = _resolved_execution(provider, execution or Execution(), now)
    if execution.sync:
        batch_size = batch_size or SYNC_CHUNK_SIZE
    job = JobRecord(
        id=job_id or new_job_id(),
        name=name or path.stem,
        provider=provider,
        spec={
            "input": str(path),
            "read": options.to_json(),
            "max_attempts": max_attempts,
            "batch_size": batch_size,
            "max_enqueued_tokens": max_enqueued_tokens,
            "job_key": key
            or job_key(path, provider, options, execution.mode.value, base_url, cache),
            "format": fmt.value,
            "execution": execution.to_json(),
            **({_address_key(provider, holder): address.to_json()} if address else {}),
            **({} if cache else {"cache": False}),
        },
        total=0,
        created_at=now,
        updated_at=now,
    )
    adapter = deps.provider(job)
    # Models this provider answered in earlier jobs need no look-up, and where answers may
    # come from the result cache, the access checks wait until the job is written and known
    # to have requests left to send (inside its transaction: a refusal stores nothing). A job
    # the cache answers whole thus never contacts the provider.
    answered = deps.store.answered_models(provider) if cache else set()

    def check_access() -> None:
        adapter.check_access()
        if execution.hedge_provider is not None:
            deps.host(job, execution.hedge_provider).check_access()  # its key, its address

    if not answered:
        check_access()
    models = ModelCheck(adapter, answered=answered)

    def ready(left: int) -> None:
        if left and answered:
            check_access()

    if options.model is not None and (problem := models.problem(options.model)):
        raise ConfigError(f"--model {options.model}: {problem}; nothing was sent")
    if deps.provider_factory is None and path.stat().st_size >= intake.PARALLEL_FROM_BYTES:
        stored = intake.StoredInput(path, options, provider, job.id, batch_size)
        mode = execution.mode
        deps.store.create_job_stored(
            job,
            stored,
            lambda: _in_mode(_offered(stored.chunks, models), mode),
            input_copy(path, fmt),
            ready,
        )
    else:

        def check(request: Request) -> str | None:
            return adapter.request_problem(request) or models.problem(request.model)

        requests = validated_requests(path, options, check)
        placement = FirstRound(type(adapter), batch_size, execution.mode)
        deps.store.create_job(job, requests, placement, input_copy(path, fmt), ready)
    return job.id


def _offered(chunks: list[ChunkRecord], models: ModelCheck) -> list[ChunkRecord]:
    """The chunks of a job validated in the intake worker, once each of their models is known
    to the provider (raising rolls the job back)."""
    for chunk in chunks:
        if chunk.model and (problem := models.problem(chunk.model)):
            raise ConfigError(f"{problem}; nothing was sent")
    return chunks


INPUT_PART_BYTES = 4 << 20
"""The input copy is stored in parts of this size: memory stays flat whatever the input's."""


def input_copy(path: Path, fmt: InputFormat) -> Iterator[bytes]:
    """A table input's bytes, in parts, for the store: its columns go into the results, which
    must not depend on the file (it may be moved, edited or on another machine by then).
    JSONL results carry no input columns, so nothing is kept for them."""
    if not fmt.is_table:
        return
    with path.open("rb") as file:
        while part := file.read(INPUT_PART_BYTES):
            yield part


@contextmanager
def kept_input(store: Store, job: JobRecord) -> Iterator[tuple[Path | None, ReadOptions]]:
    """The input a job's results are joined with, and the options to read it with.

    A table input comes from the copy kept in the store, written to a temporary file for the
    length of the block; a JSONL input needs none (None). A job written before copies were
    kept has no `format` in its spec: its input file is read again.
    """
    options = read_options_from(job.spec)
    if "format" not in job.spec:
        yield Path(job.spec["input"]), options
        return
    fmt = InputFormat(job.spec["format"])
    if not fmt.is_table:
        yield None, options
        return
    with tempfile.TemporaryDirectory(prefix="batchgraph-input-") as folder:
        copy = Path(folder) / f"input.{fmt.value}"
        with copy.open("wb") as file:
            for part in store.input_copy(job.id):
                file.write(part)
        yield copy, replace(options, format=fmt)


def address_holder(provider: str, hedge_provider: str | None) -> str:
    """Which of a job's hosts `--base-url` and `--api-key-env` belong to: the hedge's when it
    runs on the user's own server (`--hedge-provider openai-compatible`), else the job's."""
    if hedge_provider is not None and registry.split_name(hedge_provider)[0].own_server:
        return hedge_provider
    return provider


def _address_key(provider: str, holder: str) -> str:
    """Where the job's spec keeps the address: `host` for its provider's, `hedge_host` for
    its hedge's (see `deps.Deps.host`)."""
    return "host" if holder == provider else "hedge_host"


def _resolved_execution(provider: str, execution: Execution, now: float) -> Execution:
    """The choices as they will run: synchronous where the host has no Batch API; a deadline
    checked against the clock and the hosts."""
    if not adapter_class(provider).spec.features.batch:
        if execution.deadline is not None:
            raise ConfigError(
                f"--deadline: {provider} has no Batch API, so every request runs "
                "synchronously already; drop --deadline"
            )
        execution = replace(execution, mode=ChunkMode.SYNC)
    if execution.deadline is None:
        if execution.hedge_margin is not None or execution.hedge_provider is not None:
            raise ConfigError("--hedge-margin and --hedge-provider need a --deadline; add one")
        return replace(execution, submitted_at=now)
    _check_deadline(provider, execution, now)
    return replace(execution, submitted_at=now)


def _check_deadline(provider: str, execution: Execution, now: float) -> None:
    """Refuse, before anything is stored, a deadline that cannot be kept as asked."""
    assert execution.deadline is not None
    if execution.sync:
        raise ConfigError("--deadline applies to batch jobs; drop --deadline or --mode sync")
    left = execution.deadline - now
    if left <= 0:
        raise ConfigError(
            f"--deadline is {_span(-left)} in the past; give a later time or a duration like 2h"
        )
    margin = execution.hedge_margin
    if margin is not None and margin <= 0:
        raise ConfigError(f"--hedge-margin must be above 0 seconds, not {margin:g}")
    if margin is not None and margin >= left:
        raise ConfigError(
            f"--hedge-margin {_span(margin)} is not less than the {_span(left)} left before "
            f"--deadline; give a smaller --hedge-margin (e.g. {_span(left / 10)}) or a later "
            "--deadline"
        )
    host = execution.hedge_provider or provider
    if not adapter_class(host).spec.features.sync:  # an unknown name is refused here too
        able = [name for name in registry.names() if registry.spec_for(name).features.sync]
        flag = "--hedge-provider" if execution.hedge_provider else "--deadline"
        raise ConfigError(
            f"{flag}: {host} has no synchronous API in batchgraph, so it cannot finish a "
            f"hedge; add --hedge-provider with one of: {', '.join(able)}"
        )


def _span(seconds: float) -> str:
    """A duration as messages say it: 90s, 12m, 2.5h."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size * 2:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds:.3g}s"


def _in_mode(chunks: list[ChunkRecord], mode: ChunkMode) -> list[ChunkRecord]:
    """The first round's chunks, marked with how they run."""
    for chunk in chunks:
        chunk.mode = mode
    return chunks
