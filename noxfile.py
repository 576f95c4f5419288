"""One command per habit, the same on a laptop and in CI: ``nox -s tests lint typecheck imports``."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["tests", "lint", "typecheck", "imports"]

DEV = ".[dev]"


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, one worker per core (PostgreSQL tests skip on a laptop without it, and fail in CI).

    Every test keeps to its own databases, files and ports, so the workers never meet; ``-- -n0`` runs it in one
    process (pytest takes the last ``-n``)."""
    session.install("-e", DEV)
    # Hundreds of the tests start Python processes (the CLI, workers, the demo): with PYTHONDONTWRITEBYTECODE set
    # (as on our CI machines) and uv installing without bytecode, each of them compiled every module it imported
    # from source, ~2.3 s of CPU apiece. An empty value lets the first import write the .pyc files for the rest.
    session.run(
        "pytest",
        "-n",
        "auto",
        "--junitxml=build/test-results.xml",
        *session.posargs,
        env={"PYTHONDONTWRITEBYTECODE": ""},
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over src/."""
    session.install("-e", DEV)
    session.run("mypy")


@nox.session
def imports(session: nox.Session) -> None:
    """import-linter: the hexagon's arrows point inward only."""
    session.install("-e", DEV)
    session.run("lint-imports")


@nox.session
def secrets(session: nox.Session) -> None:
    """W11: re-catalog the secret-looking strings of the tracked files into ``.secrets.baseline`` (earlier audit
    answers are kept), then audit the new ones: answer "n" for a fixture or an example. Commit the baseline;
    ``tests/test_no_secrets.py`` fails while any finding is unaudited. No network: ``--no-verify``."""
    session.install("detect-secrets>=1.5")
    session.run("detect-secrets", "scan", "--no-verify", "--baseline", ".secrets.baseline")
    if session.interactive:
        session.run("detect-secrets", "audit", ".secrets.baseline")
    else:
        session.log("not a terminal: run `detect-secrets audit .secrets.baseline` to audit the new findings")


@nox.session
def demo(session: nox.Session) -> None:
    """The main job (see README)."""
    session.install("-e", ".[all]")
    session.run("onyx", "demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks (not part of the test run): `nox -s bench -- --size full`. Writes docs/benchmarks.md."""
    session.install("-e", DEV, "pyinstrument")
    session.run("python", "-m", "bench.run", *session.posargs)
