"""The one error boundary every ``onyx`` command runs inside.

A failure becomes one line on stderr, ``onyx COMMAND: what is wrong and what to do`` (see
:func:`onyx_adapters.failures.explain`), and a non-zero exit code; the traceback is printed only with ``--debug``.
Log records get the same treatment: one line each, their tracebacks only with ``--debug``.

Exit codes: 0 done; 1 the command could not do its job (the line says why); 2 the command line itself is wrong
(argparse); 3 ``onyx sync`` was partial (Fanvue failed somewhere; what is stored is intact and the next run
completes it); 70 an unexpected error, i.e. a bug (run again with ``--debug`` and report the traceback);
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from onyx_fanvue.redaction import SecretFilter

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_UNEXPECTED",
    "CommandError",
    "run_command",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_PARTIAL = 3
EXIT_UNEXPECTED = 70  # EX_SOFTWARE in sysexits.h
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

QUIET_LOGGERS = ("httpx", "httpcore", "aiosqlite", "asyncio", "sqlalchemy", "alembic")
"""Below WARNING these only narrate (one line per request or statement), even under ``--debug``."""


class CommandError(Exception):
    """A refusal a command words itself (the message is the whole line)."""


def run_command(command: str, body: Callable[[], int], *, debug: bool) -> int:
    """Run ``body`` (a command) and return its exit code; any exception becomes one line and a non-zero code."""
    with _logging(debug=debug):
        try:
            return body()
        except KeyboardInterrupt:
            _say(command, "interrupted")
            return EXIT_INTERRUPTED
        except Exception as error:  # the boundary: every failure of every command ends here
            sys.stdout.flush()
            if debug:
                traceback.print_exception(error, file=sys.stderr)
            from onyx_adapters.failures import explain  # noqa: PLC0415 - only on failure: keeps `onyx --help` fast

            line = str(error) if isinstance(error, CommandError) else explain(error)
            if line is None:
                hint = "" if debug else "; run again with --debug for the traceback"
                _say(command, f"unexpected error ({_where(error)}){hint}")
                return EXIT_UNEXPECTED
            _say(command, line)
            return EXIT_FAILED


def _say(command: str, text: str) -> None:
    sys.stderr.write(f"onyx {command}: {' '.join(text.split())}\n")
    sys.stderr.flush()


def _where(error: BaseException) -> str:
    """The error's type and the line that raised it: enough to report, and never the message (it may hold data)."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return type(error).__name__
    last = frames[-1]
    return f"{type(error).__name__} at {Path(last.filename).name}:{last.lineno}"


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (a test's capture, a redirected stream)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


class _OneLineFormatter(logging.Formatter):
    """A record's message on one line, without its traceback or stack (those are for ``--debug``)."""

    def format(self, record: logging.LogRecord) -> str:
        plain = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None})
        return " ".join(super().format(plain).split())


@contextmanager
def _logging(*, debug: bool) -> Iterator[None]:
    """Route log records through one handler while the command runs (restored after, for in-process callers)."""
    root = logging.getLogger()
    handler = _StderrHandler()
    layout = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(layout) if debug else _OneLineFormatter(layout))
    # On the handler, not on loggers: it then scrubs every library's records (procrastinate's, SQLAlchemy's), too.
    handler.addFilter(SecretFilter())
    saved = root.level, {name: logging.getLogger(name).level for name in (*QUIET_LOGGERS, "onyx")}
    root.addHandler(handler)
    root.setLevel(logging.INFO if debug else logging.WARNING)
    if debug:
        logging.getLogger("onyx").setLevel(logging.DEBUG)  # the scheduler's step tracebacks are DEBUG records
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)
