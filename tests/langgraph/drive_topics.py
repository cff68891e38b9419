"""One run of the example user graph on thread "t", in a process of its own (tests kill it).

    python -m tests.langgraph.drive_topics CHECKPOINTS PROVIDER MODEL COUNT

batchgraph's store is found through BATCHGRAPH_HOME; the user's graph keeps its checkpoints
in the SQLite file CHECKPOINTS. The input is chosen from the saved state, as a driver must:
the first input on a new thread, a resume when the thread waits, None to finish a run cut
short (new input would throw away its pending writes). Prints "ready" before it runs the
graph, and "done" with the count of answers once there is nothing left to run.
"""

from __future__ import annotations

import sys
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from batchgraph.api import Batchgraph
from batchgraph.langgraph.example import topics_graph

BATCH_SIZE = 10
MAX_ATTEMPTS = 8
"""The sandbox fails 5% of requests at random, each attempt anew: with 3 attempts a request of
120 would fail for good in about one run of 70, and the run would end `done 119`."""


def main(checkpoints: str, provider: str, model: str, count: int) -> None:
    config: Any = {"configurable": {"thread_id": "t"}}
    with Batchgraph.open() as bg, SqliteSaver.from_conn_string(checkpoints) as saver:
        graph = topics_graph(bg, saver, batch_size=BATCH_SIZE, max_attempts=MAX_ATTEMPTS)
        snapshot = graph.get_state(config)
        if snapshot.interrupts:
            given: Any = Command(resume=True)
        elif snapshot.next:
            given = None
        elif not snapshot.values:
            topics = [f"topic {n}" for n in range(count)]
            given = {"topics": topics, "provider": provider, "model": model}
        else:
            print("done", snapshot.values["summary"]["succeeded"])
            return
        print("ready", flush=True)  # imports done: a kill from now on lands in the run
        graph.invoke(given, config, durability="sync")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
