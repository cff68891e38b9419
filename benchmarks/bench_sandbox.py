"""A 100,000-request OpenAI batch through the sandbox: upload, processing, download.

The sandbox runs in its own process at instant time scale, so its peak resident memory is its
own; the client drives it with the official `openai` SDK over loopback HTTP, streaming the
upload from a file and the output file to disk. Processing is the call that finds the batch
finished and writes its result files in one pass.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from openai import OpenAI

REQUESTS = 100_000
PROMPT = "Summarise item {n} in one short sentence, citing its number and one fact about it."


@dataclass
class BenchResult:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)


def serve(data_dir: Path) -> None:
    """Child process: serve the sandbox until told to stop, then report peak memory."""
    from batchgraph.sandbox import SandboxConfig
    from batchgraph.sandbox.server import start_sandbox

    handle, _thread = start_sandbox(data_dir, SandboxConfig.instant())
    idle = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"url": handle.url, "idle_kib": idle}), flush=True)
    sys.stdin.readline()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_kib": peak}), flush=True)
    handle.stop()


def write_input(path: Path, count: int) -> None:
    with path.open("w") as out:
        for n in range(count):
            body = {
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": PROMPT.format(n=n)}],
                "max_tokens": 100,
            }
            line = {"custom_id": f"r{n}", "method": "POST", "url": "/v1/chat/completions"}
            out.write(json.dumps({**line, "body": body}) + "\n")


def drive(client: OpenAI, source: Path, target: Path) -> dict[str, float]:
    """Upload, create, wait, download; seconds per phase."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    with source.open("rb") as data:
        uploaded = client.files.create(file=("bench.jsonl", data), purpose="batch")
    times["upload"] = time.perf_counter() - start
    start = time.perf_counter()
    batch = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        extra_headers={"x-sandbox-enforce-limits": "false"},  # twice OpenAI's 50,000 cap
    )
    times["create (validates every line)"] = time.perf_counter() - start
    start = time.perf_counter()
    batch = client.batches.retrieve(batch.id)
    times["processing (write result files)"] = time.perf_counter() - start
    assert batch.status == "completed" and batch.output_file_id, batch
    start = time.perf_counter()
    with (
        client.files.with_streaming_response.content(batch.output_file_id) as response,
        target.open("wb") as out,
    ):
        for chunk in response.iter_bytes(1 << 20):
            out.write(chunk)
    times["download output"] = time.perf_counter() - start
    return times


def run(count: int = REQUESTS) -> BenchResult:
    result = BenchResult(f"Sandbox: one {count:,}-request OpenAI batch")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source, target = work / "input.jsonl", work / "output.jsonl"
        write_input(source, count)
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_sandbox", "--serve", str(work / "data")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        started = json.loads(child.stdout.readline())
        client = OpenAI(api_key="sandbox-key", base_url=started["url"] + "/openai/v1")
        total = time.perf_counter()
        times = drive(client, source, target)
        total = time.perf_counter() - total
        child.stdin.write("stop\n")
        child.stdin.flush()
        peak = json.loads(child.stdout.readline())["peak_kib"]
        child.wait(timeout=30)
        lines = sum(1 for _ in target.open("rb"))
        assert lines == count, lines
        size_in, size_out = source.stat().st_size / 1e6, target.stat().st_size / 1e6
    result.rows.append(("input file", f"{count:,} lines, {size_in:.0f} MB"))
    result.rows.append(("output file", f"{lines:,} lines, {size_out:.0f} MB"))
    for phase, seconds in times.items():
        result.rows.append((phase, f"{seconds:.2f} s"))
    result.rows.append(("total (upload → downloaded)", f"{total:.2f} s"))
    result.rows.append(("throughput", f"{count / total:,.0f} requests/s"))
    result.rows.append(("sandbox peak RSS, idle", f"{started['idle_kib'] / 1024:.0f} MB"))
    result.rows.append(("sandbox peak RSS, after the batch", f"{peak / 1024:.0f} MB"))
    return result


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(Path(sys.argv[2]))
        return
    count = int(sys.argv[1]) if len(sys.argv) > 1 else REQUESTS
    outcome = run(count)
    print(outcome.title)
    for metric, value in outcome.rows:
        print(f"  {metric:<40} {value}")


if __name__ == "__main__":
    main()
