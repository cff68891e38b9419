"""`BatchChatModel`: a LangChain chat model whose calls go through provider Batch APIs.

Three ways to call it:

- `.batch(inputs)` / `.abatch(inputs)` send every input as one durable batchgraph job and
  return the `AIMessage`s in input order: the drop-in for `ChatOpenAI.batch()` at batch price.
  `submit_batch(inputs)` returns the job id at once and `collect(job_id)` the answers later.
- Inside a flow (`batchgraph flow run`), `.invoke` pauses its LangGraph thread with
  `interrupt()`; the flow gathers the calls of every thread into batches and resumes each
  thread with its answer.
- Anywhere else (a notebook, `langgraph dev`), `.invoke` calls the provider's synchronous API
  (at the synchronous price), so a graph can be tried before it runs at scale.

Answers are checked against the request they were asked for (`request_hash`), so an answer
can never be handed to another question.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict

from batchgraph.errors import BatchgraphError, ConfigError
from batchgraph.langchain.convert import ai_message, request_hash, request_line
from batchgraph.model import JSON

_WRAPPED_PROVIDERS = {
    "ChatOpenAI": "openai",
    "AzureChatOpenAI": "azure-openai",
    "ChatAnthropic": "anthropic",
    "ChatMistralAI": "mistral",
}
"""The LangChain integrations `BatchChatModel.wrap` takes settings from, and their provider."""

FLOW_KEY = "batchgraph_flow"
"""Set in a thread's `configurable` by the flow runner: model calls there are deferred."""
REQUEST_KEY = "batchgraph_request"
"""The key of a deferred call's request in its interrupt's value."""


class BatchCallFailed(BatchgraphError):
    """A model call that still failed after its retries; the node that made it sees this."""


class BatchChatModel(BaseChatModel):
    """A chat model on a provider's Batch API.

    >>> model = BatchChatModel(provider="sandbox-openai", model="gpt-4o-mini", temperature=0)
    >>> model.provider, model.model
    ('sandbox-openai', 'gpt-4o-mini')
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    provider: str | None = None
    """`openai`, `anthropic`, `mistral`, … or `sandbox-openai` and the like to try offline.
    None in a flow: the flow's `--provider`."""
    model: str | None = None
    """None in a flow: the flow's `--model`."""
    base_url: str | None = None
    """`openai-compatible`: your server's address (http://localhost:8000/v1 for vLLM), as the
    CLI's `--base-url`; kept with each job."""
    api_key_env: str | None = None
    """`openai-compatible`: the environment variable holding your server's key, if it needs
    one (its name is kept with each job, never the key)."""
    temperature: float | None = None
    max_tokens: int | None = None
    db: str | None = None
    """The store (a SQLite path or a postgresql:// URL); default as `Batchgraph.open()`."""
    data_dir: Path | None = None
    poll_max: float = 30.0
    """`.batch` waits for its job with pauses growing up to this many seconds."""
    json_schema: dict[str, Any] | None = None
    """Set by `with_structured_output`: answers are JSON following it."""
    schema_name: str = "answer"

    def __init__(self, **settings: Any) -> None:
        """An unknown provider, or an address where the provider takes none (or none where it
        needs one), is refused when the model is made, not at its first call (here, not in a
        validator: pydantic would wrap batchgraph's message in a validation error)."""
        super().__init__(**settings)
        if self.provider is not None:
            from batchgraph.providers.settings import HostAddress, check_address

            check_address(self.provider, HostAddress(self.base_url, self.api_key_env))

    @classmethod
    def wrap(cls, chat_model: BaseChatModel, provider: str | None = None) -> BatchChatModel:
        """A batch model with the settings of a configured `ChatOpenAI`, `AzureChatOpenAI`,
        `ChatAnthropic` or `ChatMistralAI` (model, temperature, max tokens).

        `provider` overrides the one the class names (`sandbox-openai` to try offline). Keys
        are not copied: batchgraph reads them from the environment, as the wrapped model does.
        A `ChatOpenAI` pointed at another server (`base_url=`) is that server's model:
        `openai-compatible` at that address, never OpenAI's own host.
        """
        kind = type(chat_model).__name__
        base_url = _own_server(chat_model) if kind == "ChatOpenAI" else None
        provider = provider or ("openai-compatible" if base_url else _WRAPPED_PROVIDERS.get(kind))
        if provider is None:
            known = ", ".join(sorted(_WRAPPED_PROVIDERS))
            raise ConfigError(
                f"cannot tell the provider of a {kind}; pass provider= (wrap knows {known})"
            )
        model = getattr(chat_model, "model_name", None) or getattr(chat_model, "model", None)
        return cls(
            provider=provider,
            model=str(model) if model else None,
            temperature=getattr(chat_model, "temperature", None),
            max_tokens=getattr(chat_model, "max_tokens", None),
            base_url=base_url if provider == "openai-compatible" else None,
        )

    @property
    def _llm_type(self) -> str:
        return "batchgraph"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"provider": self.provider, "model": self.model}

    # -- one call ----------------------------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        flow = _flow_settings()
        if flow is not None:
            own = self.provider is not None  # its own host, or the flow's
            bound = self.model_copy(
                update={
                    "provider": self.provider or flow.get("provider"),
                    "model": self.model or flow.get("model"),
                    "base_url": self.base_url if own else flow.get("base_url"),
                    "api_key_env": self.api_key_env if own else flow.get("api_key_env"),
                }
            )
            message = bound._deferred(bound._line("0", messages, stop, kwargs))
        else:
            from batchgraph.langchain.direct import answer_now

            message = answer_now(self, self._line("0", messages, stop, kwargs))
        assert isinstance(message, AIMessage)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _deferred(self, line: dict[str, JSON]) -> AIMessage:
        from langgraph.types import interrupt

        expected = request_hash(line)
        schema = None
        if self.json_schema is not None:
            schema = {"name": self.schema_name, "schema": self.json_schema}
        answer = interrupt(
            {
                REQUEST_KEY: line,
                "request_hash": expected,
                "provider": self.provider,
                "output_schema": schema,
                "base_url": self.base_url,
                "api_key_env": self.api_key_env,
            }
        )
        if not isinstance(answer, dict) or answer.get("request_hash") != expected:
            raise BatchCallFailed(
                "the answer the flow resumed this call with was asked for another request "
                "(the node's prompt changed between runs); run the flow again with --new"
            )
        if answer.get("status") != "succeeded":
            raise BatchCallFailed(
                f"model call failed after its retries: {answer.get('error_message')} "
                f"({answer.get('error_code')})"
            )
        return ai_message(answer["record"], str(self.provider), str(answer.get("job_id", "")))

    # -- many calls as one job ---------------------------------------------------------------
    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """Every input as one batchgraph job; the answers in input order."""
        job_id = self.submit_batch(inputs, **kwargs)
        return self._answers(job_id, wait=True, return_exceptions=return_exceptions)

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        return await asyncio.to_thread(
            self.batch, inputs, config, return_exceptions=return_exceptions, **kwargs
        )

    def submit_batch(self, inputs: Sequence[LanguageModelInput], **kwargs: Any) -> str:
        """Send `inputs` as one job and return its id at once (the same inputs: the same job)."""
        stop = kwargs.pop("stop", None)
        lines = [
            self._line(str(n), self._convert_input(item).to_messages(), stop, kwargs)
            for n, item in enumerate(inputs)
        ]
        return self._submit_lines(lines)

    def collect(
        self, job_id: str, *, wait: bool = False, return_exceptions: bool = False
    ) -> list[Any] | None:
        """The answers of a `submit_batch` job in input order; None while it runs (`wait=False`)."""
        return self._answers(job_id, wait=wait, return_exceptions=return_exceptions)

    # -- settings ------------------------------------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer tools: answers carry `tool_calls` (OpenAI's tool form on every provider)."""
        kwargs["tools"] = [convert_to_openai_tool(tool) for tool in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(**kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type[BaseModel],
        *,
        include_raw: bool = False,
        method: Literal["json_schema"] = "json_schema",
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Answers as parsed JSON following `schema` (a JSON schema, or a Pydantic class)."""
        if include_raw:
            raise ValueError("include_raw=True is not supported by BatchChatModel")
        if isinstance(schema, dict):
            json_schema, name, parse = schema, str(schema.get("title", "answer")), _loads
        else:
            json_schema, name = schema.model_json_schema(), schema.__name__
            parse = _pydantic_parser(schema)
        bound = self.model_copy(update={"json_schema": json_schema, "schema_name": name})
        return bound | RunnableLambda(parse)

    # -- plumbing ------------------------------------------------------------------------------
    def _line(
        self,
        request_id: str,
        messages: Sequence[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
    ) -> dict[str, JSON]:
        settings: dict[str, JSON] = {
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if stop:
            settings["stop"] = list(stop)
        for key, value in kwargs.items():
            settings[key] = value
        return request_line(request_id, messages, settings)

    def _submit_lines(self, lines: list[dict[str, JSON]]) -> str:
        from batchgraph.langchain.jobs import submit_lines

        return submit_lines(self, lines)

    def _answers(self, job_id: str, *, wait: bool, return_exceptions: bool) -> list[Any]:
        from batchgraph.langchain.jobs import job_answers

        answers = job_answers(self, job_id, wait=wait)
        if answers is None:
            return None  # type: ignore[return-value]
        out: list[Any] = []
        for answer in answers:
            if isinstance(answer, BatchCallFailed) and not return_exceptions:
                raise answer
            out.append(answer)
        return out


def _own_server(chat_model: BaseChatModel) -> str | None:
    """The address a `ChatOpenAI` was given with `base_url=`, unless it is OpenAI's own host
    (which the `openai` provider serves at batch price)."""
    base_url = getattr(chat_model, "openai_api_base", None)
    if not base_url or str(base_url).startswith("https://api.openai.com"):
        return None
    return str(base_url)


def _flow_settings() -> dict[str, Any] | None:
    """The flow's defaults (provider, model) inside a thread the flow runner started, else
    None: a plain `.invoke`, or a LangGraph run of the user's own."""
    try:
        from langgraph.config import get_config

        configurable = get_config().get("configurable", {})
    except (RuntimeError, ImportError):
        return None
    settings = configurable.get(FLOW_KEY)
    return dict(settings) if isinstance(settings, dict) else None


def _loads(message: AIMessage) -> Any:
    return json.loads(str(message.content))


def _pydantic_parser(schema: type[BaseModel]) -> Any:
    def parse(message: AIMessage) -> BaseModel:
        return schema.model_validate_json(str(message.content))

    return parse
