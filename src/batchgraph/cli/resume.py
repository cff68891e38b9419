"""Once a job is stored, every way out of the command names it and the command that resumes it.

A job stored but never named is one the user submits again, and pays for twice. So errors,
Ctrl-C and SIGTERM (a process manager stopping us) all end by printing the job id and the
`batchgraph run --job` line that picks it up where it was; nothing is lost either way, since
the store holds every step.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import typer

from batchgraph.cli.output import err_console
from batchgraph.errors import BatchgraphError, ProviderUnavailable

SIGTERM_EXIT = 128 + signal.SIGTERM
SIGINT_EXIT = 128 + signal.SIGINT


class Terminated(BaseException):
    """SIGTERM, raised where the main thread is, so the job is named before the process ends."""


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def resume_command(job_id: str, output: str | None = None, db: str | None = None) -> str:
    """The command that takes the job on from where it stopped."""
    parts = ["batchgraph run --job", job_id]
    if output is not None:
        parts += ["-o", output]
    if db is not None:
        parts += ["--db", db]
    return " ".join(parts)


@contextmanager
def naming_the_job(job_id: str, resume: str) -> Iterator[None]:
    """Around everything a command does with a stored job: any way out names it."""
    try:
        previous = signal.signal(signal.SIGTERM, _terminated)
    except ValueError:  # not the main thread: there is no signal to catch here
        previous = None
    try:
        yield
    except KeyboardInterrupt:
        _say(f"\nstopped; job {job_id} is safe. Resume it with: {resume}")
        raise typer.Exit(SIGINT_EXIT) from None
    except Terminated:
        _say(f"\nterminated; job {job_id} is safe. Resume it with: {resume}")
        raise typer.Exit(SIGTERM_EXIT) from None
    except BatchgraphError as error:
        _say(f"[bold red]error:[/] {error}")
        _say(f"job {job_id} is stored; once that is fixed, resume it with: {resume}")
        raise typer.Exit(2) from error
    except Exception:
        _say(f"job {job_id} is stored; resume it with: {resume}")
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def waiting_note(job_id: str) -> Callable[[ProviderUnavailable], None]:
    """What to print while a tick waits out a provider that is unavailable for now."""

    def note(error: ProviderUnavailable) -> None:
        _say(f"[yellow]waiting[/] job {job_id}: {error}; trying again")

    return note


def _say(message: str) -> None:
    err_console.print(message, highlight=False)
