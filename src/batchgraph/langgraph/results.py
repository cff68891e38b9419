"""A finished job's results through LangGraph: inline in state, or pages in its `BaseStore`.

Each job gets its own namespace, `("batchgraph", "results", <job id>)`, holding one item per
page of results in input order, keyed `000000`, `000001`, …; so a client with no access to the
server's files pages them with `client.store.search_items(namespace, limit=…, offset=…)` or
reads page n with `client.store.get_item(namespace, key=f"{n:06d}")`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from typing_extensions import TypedDict

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

    from batchgraph.api import Batchgraph


class ResultsRef(TypedDict):
    """Where a job's results are: the job (for `Batchgraph.results`) and its store pages."""

    job_id: str
    count: int
    namespace: list[str] | None
    """The LangGraph store namespace of its pages; None when the graph ran without a store."""
    pages: int
    page_size: int


def results_namespace(job_id: str) -> tuple[str, ...]:
    return ("batchgraph", "results", job_id)


def page_key(page: int) -> str:
    return f"{page:06d}"


def publish_results(
    store: BaseStore | None,
    job_id: str,
    records: Iterable[dict[str, Any]],
    count: int,
    page_size: int,
) -> ResultsRef:
    """Write the records to `store` page by page (again harmlessly: each page is replaced)."""
    if store is None:
        return ResultsRef(job_id=job_id, count=count, namespace=None, pages=0, page_size=0)
    namespace = results_namespace(job_id)
    pages = 0
    records = iter(records)
    while page := list(islice(records, page_size)):
        value = {"job_id": job_id, "page": pages, "first": pages * page_size, "records": page}
        store.put(namespace, page_key(pages), value, index=False)
        pages += 1
    return ResultsRef(
        job_id=job_id, count=count, namespace=list(namespace), pages=pages, page_size=page_size
    )


def read_results(
    ref: ResultsRef, store: BaseStore | None = None, bg: Batchgraph | None = None
) -> Iterator[dict[str, Any]]:
    """Every result record of a finished job, in input order: from the LangGraph store when
    one is given and holds the pages, else from batchgraph's own store through `bg`."""
    namespace = ref.get("namespace")
    if store is not None and namespace is not None:
        for page in range(ref["pages"]):
            item = store.get(tuple(namespace), page_key(page))
            if item is None:
                raise LookupError(f"results page {page} of job {ref['job_id']} is missing")
            yield from item.value["records"]
        return
    if bg is None:
        raise ValueError(
            f"job {ref['job_id']}: its results are in batchgraph's store — pass bg= "
            "(a Batchgraph on the database the graph used) or the LangGraph store"
        )
    yield from bg.results(ref["job_id"])
