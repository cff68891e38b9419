"""What a job will cost before it is sent: tokens estimated from the input, priced per model.

Input tokens are counted as the provider counts them, from the body the adapter builds for
each request (a schema's tool, the system prompt and the provider's per-message tokens
included), with its tokenizer or its counting endpoint where there is one, on a sample of the
requests (`tokens.count_input`). Output length is unknown before the answers exist,
so each model's answers are estimated by the best source at hand, in this order:

1. **sample**: `--estimate-sample N` answers N requests of the input now, synchronously
   (`estimate_sample`), and their answers' length is taken;
2. **history**: the output tokens per answer of earlier finished jobs on the same provider and
   model with the same shape (template, system prompt, schema, limits: `shape_key`);
3. **schema**: the size of a typical JSON answer following the job's `--json-schema`;
4. **default**: `DEFAULT_OUTPUT_TOKENS` per answer, said so.

Every answer is capped by its `max_tokens`. The estimate is a range: its top assumes each
answer is as long as its `max_tokens` allows (or `HIGH_FACTOR` times the central figure when no
limit is set). `--max-cost` is compared with the central figure, and with the top only under
`--max-cost-strict`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchgraph.errors import ConfigError, CostLimitExceeded
from batchgraph.estimate_reuse import ReuseForecast
from batchgraph.estimate_sample import Reservoir, Sample
from batchgraph.io import ReadOptions
from batchgraph.jobs import check_input
from batchgraph.model import Kind, Request, Usage
from batchgraph.pricing import total_cost
from batchgraph.providers import adapter_class
from batchgraph.report import priced_provider
from batchgraph.store.base import JobRecord, JobStatus
from batchgraph.tokens import COUNT_SAMPLE, count_input, token_endpoint

DEFAULT_OUTPUT_TOKENS = 150
"""Per answer, when neither history nor a schema says more: a short paragraph."""
HIGH_FACTOR = 4
"""The top of the range for answers with no `max_tokens`, as a multiple of the central one."""
_SHAPE_FIELDS = ("system", "temperature", "max_tokens", "kind", "template", "output_schema")


def shape_key(read: dict[str, Any]) -> str:
    """What makes two jobs' answers alike in length: their options, less model and layout."""
    shape = {key: read[key] for key in _SHAPE_FIELDS if key in read}
    text = json.dumps(shape, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Estimate:
    """A range of cost: `batch_usd` is the central figure, `batch_usd_high` its top."""

    requests: int
    input_tokens: int
    output_tokens: int
    output_tokens_high: int
    batch_usd: float | None
    batch_usd_high: float | None
    sync_usd: float | None
    models: tuple[str, ...]
    method: str
    """How the output was estimated, for people: "history of 2 jobs", "JSON schema", …"""
    sample_usd: float | None = None
    """What answering the sample cost (at the synchronous price), when one was taken."""
    input_method: str = ""
    """How the input tokens were counted: "o200k_base tokenizer", "4 characters a token", …"""
    cache_hits: int = 0
    """Requests the result cache will answer at no cost (priced at nothing above)."""
    repeats: int = 0
    """Requests that repeat an earlier one of the input: sent once, priced once."""


def estimate_job(
    path: Path,
    provider: str,
    options: ReadOptions,
    history: list[JobRecord] | None = None,
    sample: Sample | None = None,
    data_dir: Path | None = None,
    reuse: ReuseForecast | None = None,
) -> Estimate:
    """Validate the input (every line) and price its estimated tokens; nothing is sent.

    `history` is the jobs to learn answer lengths from (`Batchgraph.jobs()`); none, none used.
    `sample` is what answering a few requests now showed (`estimate_sample.run_sample`).
    `data_dir` lets a sandbox provider's token-counting endpoint be asked (a real provider's
    is asked when its key is set).
    `reuse`, for a job that will use the result cache, prices only the requests it will send:
    not those the cache answers nor repeats of an earlier request (`estimate_reuse`).
    """
    drawn = Reservoir(COUNT_SAMPLE)

    def each(request: Request) -> None:
        drawn.add(request)
        if reuse is not None:
            reuse.add(request)

    try:
        summary = check_input(path, provider, options, each=each)
    finally:
        if reuse is not None:
            reuse.finish()
    endpoint = token_endpoint(provider, data_dir)
    counted = count_input(adapter_class(provider), summary, drawn.drawn, endpoint)
    embeddings_only = summary.kinds.get(Kind.EMBEDDING, 0) == summary.count
    shape = shape_key(options.to_json())
    central: list[tuple[str, str, Usage]] = []
    high: list[tuple[str, str, Usage]] = []
    methods: set[str] = set()
    priced = priced_provider(provider)
    for model, tally in summary.models.items():
        per_answer, method = 0.0, "embeddings: no output"
        if not embeddings_only and sample is not None and model in sample.per_answer:
            per_answer = sample.per_answer[model]
            method = f"a sample of {sample.answers} answers"
        elif not embeddings_only:
            per_answer, method = output_per_answer(priced, model, shape, options, history or [])
        methods.add(method)
        limited = tally.requests - tally.without_max_tokens
        mid = min(per_answer * limited, tally.max_output_tokens)
        mid += per_answer * tally.without_max_tokens
        top = tally.max_output_tokens + per_answer * HIGH_FACTOR * tally.without_max_tokens
        input_tokens = counted.tokens[model]
        if reuse is not None:  # what is answered without sending costs nothing
            share = reuse.sent_share(model, tally.requests)
            mid, top, input_tokens = mid * share, top * share, round(input_tokens * share)
        central.append((priced, model, Usage(input_tokens, round(mid))))
        high.append((priced, model, Usage(input_tokens, round(top))))
    cost, cost_high = total_cost(central), total_cost(high)
    return Estimate(
        requests=summary.count,
        input_tokens=sum(usage.input_tokens for _, _, usage in central),
        output_tokens=sum(usage.output_tokens for _, _, usage in central),
        output_tokens_high=sum(usage.output_tokens for _, _, usage in high),
        batch_usd=cost.batch_usd,
        batch_usd_high=cost_high.batch_usd,
        sync_usd=cost.sync_usd,
        models=tuple(sorted(summary.models)),
        method="; ".join(sorted(methods)),
        sample_usd=sample.sync_usd if sample is not None else None,
        input_method=counted.method,
        cache_hits=sum(reuse.hits.values()) if reuse is not None else 0,
        repeats=sum(reuse.repeats.values()) if reuse is not None else 0,
    )


def output_per_answer(
    provider: str, model: str, shape: str, options: ReadOptions, history: list[JobRecord]
) -> tuple[float, str]:
    """Output tokens per answer for one model, and where the figure comes from."""
    tokens = answers = jobs = 0
    for job in history:
        seen = _answer_lengths(job, provider, model, shape)
        if seen is not None:
            tokens, answers, jobs = tokens + seen[0], answers + seen[1], jobs + 1
    if answers:
        return tokens / answers, f"history of {jobs} job{'s' if jobs > 1 else ''}"
    if options.output_schema is not None:
        return schema_answer_tokens(options.output_schema.schema), "JSON schema"
    return float(DEFAULT_OUTPUT_TOKENS), f"default of {DEFAULT_OUTPUT_TOKENS} tokens per answer"


def _answer_lengths(
    job: JobRecord, provider: str, model: str, shape: str
) -> tuple[int, int] | None:
    """(output tokens, answers) of a finished single-model job like this one, else None."""
    report = job.report
    if job.status is not JobStatus.DONE or report is None:
        return None
    if priced_provider(job.provider) != provider:
        return None
    read = job.spec.get("read")
    if not isinstance(read, dict) or shape_key(read) != shape:
        return None
    lines = report.get("models")
    counts = report.get("counts")
    if not isinstance(lines, list) or len(lines) != 1 or not isinstance(counts, dict):
        return None
    line = lines[0]
    succeeded = counts.get("succeeded")
    if not isinstance(line, dict) or line.get("model") != model or not succeeded:
        return None
    output = line.get("output_tokens")
    return (output, int(succeeded)) if isinstance(output, int) else None


def schema_answer_tokens(schema: dict[str, Any]) -> float:
    """Tokens of a typical compact JSON answer following `schema` (about 4 characters each)."""
    return max(1.0, _typical_chars(schema, depth=0) / 4)


def _typical_chars(schema: Any, depth: int) -> float:
    if not isinstance(schema, dict) or depth > 8:
        return 8.0
    if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
        values = [len(json.dumps(value)) for value in schema["enum"]]
        return sum(values) / len(values)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _typical_chars(options[0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return 2.0
        inner = sum(
            len(name) + 3 + _typical_chars(sub, depth + 1) for name, sub in properties.items()
        )
        return 2 + inner + max(0, len(properties) - 1)
    if kind == "array":
        items = max(1, int(schema.get("minItems", 0) or 0), 2)
        return 2 + items * (_typical_chars(schema.get("items"), depth + 1) + 1)
    if kind in ("integer", "number"):
        return 3.0
    if kind == "boolean":
        return 5.0
    return 24.0  # a string: a few words


def check_max_cost(max_cost: float | None) -> None:
    """A limit of zero or less can only refuse everything: say so before reading the input."""
    if max_cost is not None and max_cost <= 0:
        raise ConfigError(f"--max-cost {max_cost} must be above 0 (a limit in US dollars)")


def refuse_over(estimate: Estimate, max_cost: float | None, *, strict: bool = False) -> None:
    """Raise before anything is sent when the estimate exceeds the user's limit.

    The central figure is compared, or the range's top when `strict` (`--max-cost-strict`).
    """
    if max_cost is None:
        return
    check_max_cost(max_cost)
    figure = estimate.batch_usd_high if strict else estimate.batch_usd
    if figure is None:
        raise CostLimitExceeded(
            f"--max-cost {max_cost} was given but the cost of {', '.join(estimate.models)} is "
            "unknown; add its price to a prices file (BATCHGRAPH_PRICES) or drop --max-cost"
        )
    if figure > max_cost:
        which = "highest estimated" if strict else "estimated"
        raise CostLimitExceeded(
            f"{which} batch cost ${figure:.2f} ({estimate.method}) is over --max-cost "
            f"${max_cost:.2f}; nothing was sent (raise the limit, lower --max-tokens, or "
            "split the input)"
        )
