"""Reading and validating a large plain JSONL input, then writing its upload chunks.

Measures time and peak resident memory for 100k and 1M lines, each phase in its own process
(so `ru_maxrss` is that phase's own peak): `validate` reads every line and checks ids for
duplicates; `chunks` streams the requests and writes OpenAI batch JSONL files of 50,000 lines.
Memory that does not grow with the line count shows as a flat peak from 100k to 1M lines; the
duplicate check keeps 8 bytes per line by design, which is the growth `validate` is allowed.
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
from typing import Any

SIZES = (100_000, 1_000_000)
CHUNK_LINES = 50_000
MODEL = "gpt-4o-mini"
FILLER = "Please answer in one short sentence, citing the item number as you go. " * 2


@dataclass
class BenchResult:
    """A titled table of (metric, value) rows."""

    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)


def make_input(path: Path, lines: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for n in range(1, lines + 1):
            record = {"id": f"item-{n}", "prompt": f"Item {n}. {FILLER}", "max_tokens": 100}
            out.write(json.dumps(record) + "\n")


def openai_line(custom_id: str, request: Any) -> str:
    """The request as an OpenAI batch input line (the upload format)."""
    messages = list(request.messages)
    if request.system:
        messages.insert(0, {"role": "system", "content": request.system})
    body: dict[str, Any] = {"model": request.model, "messages": messages}
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    line = {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}
    return json.dumps(line, separators=(",", ":"))


def child(phase: str, source: Path, out_dir: Path) -> dict[str, float]:
    """Run one phase in this process and report its time and peak memory."""
    from batchgraph.io import ReadOptions, read_requests, validate_input

    options = ReadOptions(model=MODEL)
    start = time.perf_counter()
    files = 0
    if phase == "validate":
        count = validate_input(source, options).count
    elif phase == "chunks":
        count = 0
        chunk = None
        for count, request in enumerate(read_requests(source, options), start=1):
            if (count - 1) % CHUNK_LINES == 0:
                if chunk is not None:
                    chunk.close()
                chunk = (out_dir / f"chunk-{files:04d}.jsonl").open("w", encoding="utf-8")
                files += 1
            assert chunk is not None
            chunk.write(openai_line(str(count - 1), request) + "\n")
        if chunk is not None:
            chunk.close()
    else:
        count = 0  # "baseline": the interpreter and the imports alone
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"count": count, "seconds": seconds, "peak_mb": peak_kib / 1024, "files": files}


def _measure(phase: str, source: Path, out_dir: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", phase, str(source), str(out_dir)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def run(sizes: tuple[int, ...] = SIZES) -> BenchResult:
    result = BenchResult("Input: validate + write upload chunks (plain JSONL)")
    peaks: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = _measure("baseline", work / "none", work)
        result.rows.append(
            ("baseline peak RSS (interpreter + imports)", f"{base['peak_mb']:.0f} MB")
        )
        for size in sizes:
            source = work / f"input-{size}.jsonl"
            make_input(source, size)
            megabytes = source.stat().st_size / 1e6
            result.rows.append((f"{size:,} lines: input size", f"{megabytes:.0f} MB"))
            for phase in ("validate", "chunks"):
                out_dir = work / f"chunks-{size}"
                out_dir.mkdir(exist_ok=True)
                measured = _measure(phase, source, out_dir)
                assert measured["count"] == size, measured
                peaks[(phase, size)] = measured["peak_mb"]
                rate = size / measured["seconds"]
                label = f"{size:,} lines: {phase}"
                result.rows.append(
                    (f"{label} time", f"{measured['seconds']:.1f} s ({rate:,.0f} lines/s)")
                )
                result.rows.append((f"{label} peak RSS", f"{measured['peak_mb']:.0f} MB"))
                if phase == "chunks":
                    written = sum(p.stat().st_size for p in out_dir.iterdir()) / 1e6
                    files = int(measured["files"])
                    result.rows.append((f"{label} files", f"{files} files, {written:.0f} MB"))
            source.unlink()
        if len(sizes) >= 2:
            small, large = sizes[0], sizes[-1]
            for phase in ("validate", "chunks"):
                growth = peaks[(phase, large)] - peaks[(phase, small)]
                result.rows.append(
                    (f"{phase} peak growth {small:,} → {large:,} lines", f"{growth:+.0f} MB")
                )
    return result


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))))
        return
    sizes = tuple(int(arg) for arg in sys.argv[1:]) or SIZES
    outcome = run(sizes)
    print(outcome.title)
    for metric, value in outcome.rows:
        print(f"  {metric:<48} {value}")


if __name__ == "__main__":
    main()
