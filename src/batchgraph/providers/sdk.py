"""What every SDK-backed adapter does the same way, so an adapter holds only its protocol.

`SdkProvider` turns the SDK's exceptions into ours (`call`, `failure`: a refusal is a
`ProviderCallError`, a host out of reach or overloaded a `ProviderUnavailable`), makes `cancel`
idempotent and `check_access` one cheap read; `newest_since` and `tagged` are the walk through
a newest-first batch list that `find_batch` does. An adapter names its SDK's exceptions and says
how to read an error's HTTP status and how to describe it.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

from batchgraph.errors import ProviderCallError, ProviderUnavailable, is_transient_status
from batchgraph.providers.base import Provider

T = TypeVar("T")
B = TypeVar("B")
B_co = TypeVar("B_co", covariant=True)


class CursorPage(Protocol[B_co]):
    """A page of a Stainless-generated SDK's list (`openai`, `anthropic`)."""

    @property
    def data(self) -> Sequence[B_co]: ...

    def has_next_page(self) -> bool: ...

    def get_next_page(self) -> CursorPage[B_co]: ...


class SdkProvider(Provider):
    """A `Provider` over an official SDK: error wrapping, idempotent cancel, access check."""

    sdk_errors: ClassVar[tuple[type[Exception], ...]]
    """Every exception the SDK raises for a failed call."""
    unreachable_errors: ClassVar[tuple[type[Exception], ...]]
    """Those that mean no answer came (connection refused, timeout)."""
    probe_what: ClassVar[str] = "list batches"
    """What `probe` does, for the message when it fails ("could not list batches: …")."""

    @classmethod
    @abstractmethod
    def http_status(cls, err: Exception) -> int | None:
        """The HTTP status of an SDK error, or None when no answer came."""

    @abstractmethod
    def describe(self, err: Exception) -> str:
        """An SDK error as one line: status, the provider's own words, what to check."""

    @abstractmethod
    def probe(self) -> None:
        """The cheapest authenticated read (list one batch), for `check_access`."""

    @abstractmethod
    def request_cancel(self, batch_id: str) -> None:
        """The SDK's cancel call, for `cancel`."""

    def transient(self, err: Exception) -> bool:
        """Rate limits, server errors, timeouts and lost connections pass; the rest will not."""
        status = self.http_status(err)
        if status is not None:
            return is_transient_status(status)
        return isinstance(err, self.unreachable_errors)

    def failure(self, what: str, batch_id: str | None, err: Exception) -> ProviderCallError:
        kind = ProviderUnavailable if self.transient(err) else ProviderCallError
        return kind(self.name, f"could not {what}: {self.describe(err)}", batch_id)

    def call(
        self, what: str, batch_id: str | None, function: Callable[..., T], /, **kwargs: Any
    ) -> T:
        """One SDK call, its failures turned into ours (`what` completes "could not …")."""
        try:
            return function(**kwargs)
        except self.sdk_errors as err:
            raise self.failure(what, batch_id, err) from err

    def cursor_pages(self, first: Callable[[], CursorPage[B]]) -> Iterator[Sequence[B]]:
        """The pages of a list call, each fetched when the one before has been read."""
        page = self.call("list batches", None, first)
        while True:
            yield page.data
            if not page.has_next_page():
                return
            page = self.call("list batches", None, page.get_next_page)

    def check_access(self) -> None:
        try:
            self.probe()
        except self.sdk_errors as err:
            status = self.http_status(err)
            if status is None or not is_transient_status(status):
                raise self.failure(self.probe_what, None, err) from err

    def cancel(self, batch_id: str) -> None:
        """Ask the provider to stop the batch; one that has already ended is left as it is
        (providers refuse to cancel it with a 4xx: there is nothing to stop)."""
        try:
            self.request_cancel(batch_id)
        except self.sdk_errors as err:
            status = self.http_status(err)
            if status is not None and 400 <= status < 500 and self.status(batch_id).done:
                return
            raise self.failure("cancel the batch", batch_id, err) from err


def newest_since(
    pages: Iterable[Sequence[B]], created_at: Callable[[B], float], since: float
) -> Iterator[B]:
    """The batches of a newest-first listing, page by page, down to the first one created
    before `since` (a Unix time); later pages are not fetched."""
    for page in pages:
        for batch in page:
            if created_at(batch) < since:
                return
            yield batch


def tagged(batches: Iterable[B], key: str, label: str, metadata: Callable[[B], object]) -> B | None:
    """The first batch whose metadata (a mapping, or None when it has none) holds `label` under
    `key`."""
    for batch in batches:
        found = metadata(batch)
        if isinstance(found, Mapping) and found.get(key) == label:
            return batch
    return None
