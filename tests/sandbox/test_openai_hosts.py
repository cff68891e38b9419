"""Every OpenAI-protocol host in the registry, as the sandbox serves it to the official `openai`
SDK over HTTP: its URL shape, key header, caps, windows and upload purpose."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from batchgraph.providers import sandbox_base_url
from batchgraph.providers.registry import SPECS, ProviderSpec
from batchgraph.providers.settings import SANDBOX_API_KEY, spec_options
from batchgraph.sandbox import SandboxHandle
from batchgraph.sandbox.openai_input import Limits, check_input
from batchgraph.sandbox.personalities import PERSONALITIES, Personality

HOSTS = [spec for spec in SPECS if PERSONALITIES[spec.sandbox].protocol == "openai"]
"""Every registry entry the sandbox serves under its OpenAI protocol: a new host is tested by
adding it."""


@pytest.fixture(params=HOSTS, ids=lambda spec: spec.name)
def host(request: pytest.FixtureRequest) -> ProviderSpec:
    spec: ProviderSpec = request.param
    return spec


def personality(spec: ProviderSpec) -> Personality:
    return PERSONALITIES[spec.sandbox]


@pytest.fixture
def client(host: ProviderSpec, batchgraph_sandbox: SandboxHandle) -> Iterator[openai.OpenAI]:
    """The SDK client a user of that host would make (Azure's for Azure)."""
    base_url = sandbox_base_url(host.name, batchgraph_sandbox.url)
    made: openai.OpenAI
    if personality(host).api_version:
        api_version = spec_options(host, {})["api_version"]
        made = openai.AzureOpenAI(
            api_key=SANDBOX_API_KEY, azure_endpoint=base_url, api_version=api_version
        )
    else:
        made = openai.OpenAI(api_key=SANDBOX_API_KEY, base_url=base_url)
    yield made
    made.close()


def api_url(host: ProviderSpec, sandbox: SandboxHandle) -> str:
    """Where the host's Files and Batch routes are (Azure's SDK adds `/openai` to the endpoint)."""
    root = "/openai" if personality(host).api_version else ""
    return sandbox_base_url(host.name, sandbox.url) + root


def endpoint(host: ProviderSpec) -> str:
    return personality(host).batch_url_root + "/chat/completions"


def upload(client: openai.OpenAI, host: ProviderSpec, lines: list[dict[str, object]]) -> str:
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    purpose = personality(host).batch_purpose
    uploaded = client.files.create(
        file=("in.jsonl", data, "application/jsonl"),
        purpose=purpose,  # type: ignore[arg-type]
    )
    return uploaded.id


def chat(host: ProviderSpec, custom_id: str) -> dict[str, object]:
    body = {"model": host.example_model, "messages": [{"role": "user", "content": custom_id}]}
    return {"custom_id": custom_id, "method": "POST", "url": endpoint(host), "body": body}


def test_a_batch_runs_through_the_hosts_own_urls_and_comes_back_in_full(
    host: ProviderSpec, client: openai.OpenAI, batchgraph_sandbox: SandboxHandle
) -> None:
    file_id = upload(client, host, [chat(host, "a"), chat(host, "b")])
    created = client.batches.create(
        input_file_id=file_id,
        endpoint=endpoint(host),  # type: ignore[arg-type]
        completion_window="24h",
        metadata={"tag": "t1"},
    )
    done = client.batches.retrieve(created.id)

    assert done.status == "completed" and done.endpoint == endpoint(host)
    assert done.output_file_id is not None
    lines = client.files.content(done.output_file_id).text.splitlines()
    assert sorted(json.loads(line)["custom_id"] for line in lines) == ["a", "b"]
    assert [b.id for b in client.batches.list(limit=10)] == [created.id]
    (creation,) = batchgraph_sandbox.creations(host.sandbox)
    assert creation.metadata == {"tag": "t1"}


def test_a_hosts_files_and_batches_are_its_own(
    host: ProviderSpec, client: openai.OpenAI, batchgraph_sandbox: SandboxHandle
) -> None:
    file_id = upload(client, host, [chat(host, "a")])
    others = [spec for spec in HOSTS if spec.sandbox != host.sandbox]

    assert client.files.retrieve(file_id).id == file_id
    for other in others:
        response = httpx.get(
            f"{api_url(other, batchgraph_sandbox)}/files/{file_id}",
            headers={"Authorization": f"Bearer {SANDBOX_API_KEY}", "api-key": SANDBOX_API_KEY},
            params={"api-version": "2024-10-21"},
        )
        assert response.status_code == 404, other.name


def test_a_call_without_the_hosts_key_header_is_refused(
    host: ProviderSpec, batchgraph_sandbox: SandboxHandle
) -> None:
    wrong = {"Authorization": "Bearer x"} if personality(host).api_version else {}
    url = api_url(host, batchgraph_sandbox)

    refused = httpx.get(f"{url}/batches", headers=wrong, params={"api-version": "1"})

    assert refused.status_code == 401
    assert "error" in refused.json()


def test_azure_wants_its_api_key_header_api_version_and_urls_without_v1(
    batchgraph_sandbox: SandboxHandle,
) -> None:
    base = sandbox_base_url("azure-openai", batchgraph_sandbox.url) + "/openai"
    key = {"api-key": SANDBOX_API_KEY}

    assert httpx.get(
        f"{base}/batches", headers=key, params={"api-version": "2024-10-21"}
    ).is_success
    no_version = httpx.get(f"{base}/batches", headers=key)
    assert no_version.status_code == 400 and "api-version" in no_version.text
    client = openai.AzureOpenAI(
        api_key=SANDBOX_API_KEY, azure_endpoint=base.removesuffix("/openai"), api_version="1"
    )
    spec = next(spec for spec in HOSTS if spec.name == "azure-openai")
    line = {**chat(spec, "a"), "url": "/v1/chat/completions"}
    with pytest.raises(openai.BadRequestError, match="endpoint"):
        client.batches.create(
            input_file_id=upload(client, spec, [line]),
            endpoint="/v1/chat/completions",
            completion_window="24h",
        )


def test_completion_windows_are_each_hosts_own(host: ProviderSpec, client: openai.OpenAI) -> None:
    windows = personality(host).completion_windows
    for window in windows:
        batch = client.batches.create(
            input_file_id=upload(client, host, [chat(host, "a")]),
            endpoint=endpoint(host),  # type: ignore[arg-type]
            completion_window=window,  # type: ignore[arg-type]
        )
        assert batch.completion_window == window
    if "7d" not in windows:
        with pytest.raises(openai.BadRequestError, match="completion_window"):
            client.batches.create(
                input_file_id=upload(client, host, [chat(host, "a")]),
                endpoint=endpoint(host),  # type: ignore[arg-type]
                completion_window="7d",  # type: ignore[arg-type]
            )


def test_each_host_refuses_files_over_its_own_caps(host: ProviderSpec, tmp_path: Path) -> None:
    served = personality(host)
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(chat(host, "a")) + "\n")
    limits = Limits(served.max_requests, served.max_bytes)

    too_big = check_input(path, served.max_bytes + 1, endpoint(host), limits)
    fits = check_input(path, served.max_bytes, endpoint(host), limits, "/v1/chat/completions")

    assert [e["code"] for e in too_big.errors] == ["file_too_large"]
    assert fits.errors == [] and fits.total == 1
    # The client plans under caps no larger than the host's.
    assert host.caps.max_requests <= served.max_requests
    assert host.caps.max_bytes <= served.max_bytes
