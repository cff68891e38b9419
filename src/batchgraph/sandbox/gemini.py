"""Gemini's Files API and batch mode (`/gemini/...`): what the `google-genai` SDK calls, with
Gemini's operation-shaped batches, `BATCH_STATE_*` states, RFC 3339 times, Google's error body,
the resumable upload protocol and one responses file per batch. Files are served in
`gemini_files`, batches in `gemini_batches`.

Point the SDK here with `genai.Client(api_key=…, http_options=types.HttpOptions(
base_url="http://127.0.0.1:PORT/gemini", api_version="v1beta"))`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from batchgraph.sandbox.context import SandboxContext
from batchgraph.sandbox.gemini_batches import Batches
from batchgraph.sandbox.gemini_files import Files
from batchgraph.sandbox.gemini_http import API_VERSION, error_response
from batchgraph.sandbox.personalities import Personality


def routes(ctx: SandboxContext, personality: Personality) -> list[BaseRoute]:
    """The API under its one personality, whose name (`gemini`) is its store namespace."""
    files, batches = Files(ctx), Batches(ctx)
    v = f"/{API_VERSION}"
    return [
        Route(f"/upload{v}/files", files.upload, methods=["POST"]),
        Route(f"{v}/files", files.list_files, methods=["GET"]),
        Route(f"{v}/files/{{name}}", files.get_file, methods=["GET"]),
        Route(f"{v}/files/{{name}}", files.delete_file, methods=["DELETE"]),
        Route(f"/download{v}/files/{{name}}", files.download, methods=["GET"]),
        Route(f"{v}/models/{{spec}}", batches.create, methods=["POST"]),
        Route(f"{v}/batches", batches.list, methods=["GET"]),
        Route(f"{v}/batches/{{name}}", batches.get, methods=["GET"]),
        Route(f"{v}/batches/{{name}}", batches.cancel, methods=["POST"]),
        Route(f"{v}/batches/{{name}}", batches.delete, methods=["DELETE"]),
    ]


__all__ = ["error_response", "routes"]
