"""A failure in one line a person can act on: what is wrong and what to do.

The ``onyx`` command prints it (and exits non-zero) and the scheduler logs it for a step that failed; both show a
traceback only when asked (``--debug``). A line is built from the error's type and its own short message, never
from a rendering that could quote a SQL statement's parameters, a token or a password.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.util import CommandError as AlembicCommandError
from pydantic import ValidationError as SettingsValidationError

from onyx_adapters.oauth_callback import GrantError
from onyx_adapters.settings import ConfigurationError
from onyx_adapters.sql.errors import DatabaseUnavailableError, database_failure
from onyx_core.errors import ConcurrentUpdateError, InvalidCiphertextError, OnyxError
from onyx_core.ports import GrantRefusedError, SourceUnavailableError
from onyx_fanvue.errors import FanvueError, InvalidClientError, InvalidGrantError

__all__ = ["explain"]

_EXTRAS = {"psycopg": "postgres", "procrastinate": "workers", "litestar": "sandbox", "uvicorn": "sandbox"}


def explain(error: BaseException) -> str | None:
    """``error`` as one line saying what is wrong and what to do; ``None`` for an error Onyx does not expect (a
    bug: only its traceback can tell)."""
    if isinstance(error, BaseExceptionGroup):
        lines = {explain(inner) for inner in error.exceptions}
        return None if None in lines or len(lines) != 1 else lines.pop()
    database = database_failure(error)
    if database is not None:
        return _line(database)
    for kinds, describe in _EXPLAINERS:
        if isinstance(error, kinds):
            return _line(describe(error))
    return None


def _line(text: object) -> str:
    return " ".join(str(text).split())


def _settings(error: SettingsValidationError) -> str:
    problems = "; ".join(f"ONYX_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
    return f"a setting is unusable ({problems})"  # pydantic's own rendering would quote the value


def _fanvue(error: BaseException) -> str:
    first = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
    if isinstance(error, InvalidClientError):
        return f"Fanvue refused the app's registration ({first}): check ONYX_FANVUE_CLIENT_ID and _SECRET"
    if isinstance(error, InvalidGrantError | GrantRefusedError):
        return f"Fanvue refused the grant ({first}): connect the account again with `onyx connect`"
    return f"Fanvue could not answer ({type(error).__name__}: {first}); try again later"


def _ciphertext(error: BaseException) -> str:
    if type(error) is InvalidCiphertextError:  # the bare error knows no connection; its subclasses say more
        return f"stored tokens cannot be decrypted ({error}): check ONYX_CIPHER_KEYS"
    return str(error)


def _missing_module(error: ModuleNotFoundError) -> str:
    root = (error.name or "").split(".")[0]
    extra = _EXTRAS.get(root)
    if extra is None:
        return f"a library Onyx needs is not installed ({root}): reinstall onyx-fanvue"
    return f"this needs the '{extra}' extra ({root} is not installed): pip install 'onyx-fanvue[{extra}]'"


def _os(error: OSError) -> str:
    where = f": {error.filename}" if error.filename else ""
    return f"the system refused ({error.strerror or type(error).__name__}{where})"


# each explainer is only called with an instance of its row's types (Any: a table cannot type that pairing)
_EXPLAINERS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], Callable[[Any], str]], ...] = (
    ((ConfigurationError, DatabaseUnavailableError), str),
    (GrantError, lambda error: f"connecting did not complete: {error}"),
    (SettingsValidationError, _settings),
    ((SourceUnavailableError, FanvueError), _fanvue),
    (InvalidCiphertextError, _ciphertext),
    (ConcurrentUpdateError, lambda error: f"the data changed while this ran ({error}): run the command again"),
    (AlembicCommandError, lambda error: f"the migration could not run ({error})"),
    (OnyxError, str),
    (ModuleNotFoundError, _missing_module),
    (OSError, _os),
)
