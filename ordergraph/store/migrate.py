"""Running the store's Alembic migrations from code, and checking a store is current."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from ordergraph.store.engine import create_engine, redact_url
from ordergraph.store.errors import StoreNotMigratedError, StoreUnavailableError

__all__ = ["SchemaStatus", "alembic_config", "check_schema", "ensure_schema", "migrate"]

_SCRIPTS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at the migrations shipped inside this package."""
    config = Config()
    # ConfigParser interpolates "%", which a path may contain.
    config.set_main_option("script_location", str(_SCRIPTS).replace("%", "%%"))
    return config


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """The revision a database is at and the revision this code expects."""

    current: str | None
    head: str
    known: bool

    @property
    def up_to_date(self) -> bool:
        """True when the database is at the code's head revision."""
        return self.current == self.head


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError("no store migrations found")
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _unavailable(url: str, exc: Exception) -> StoreUnavailableError:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return StoreUnavailableError(f"cannot open the store at {redact_url(url)}: {reason}")


async def check_schema(url: str) -> SchemaStatus:
    """Where the store at ``url`` stands against this code's migrations.

    Raises ``StoreUnavailableError`` when the database cannot be reached.
    """
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(_current)
    except (DBAPIError, OSError) as exc:
        raise _unavailable(url, exc) from exc
    finally:
        await engine.dispose()
    scripts = ScriptDirectory.from_config(alembic_config())
    known = current is None or any(s.revision == current for s in scripts.walk_revisions())
    return SchemaStatus(current=current, head=_head(), known=known)


async def migrate(url: str) -> SchemaStatus:
    """Upgrade the store at ``url`` to the head revision (creating it if empty)."""
    await check_schema(url)  # a clean error when the database cannot be reached
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()
    return await check_schema(url)


async def ensure_schema(url: str, *, auto_migrate: bool = False) -> SchemaStatus:
    """Make sure the store at ``url`` is current before serving from it.

    With ``auto_migrate`` an outdated store is upgraded; otherwise
    ``StoreNotMigratedError`` says exactly what to run. A store migrated by a newer
    ordergraph is refused either way.
    """
    status = await check_schema(url)
    if status.up_to_date:
        return status
    shown = redact_url(url)
    if not status.known:
        raise StoreNotMigratedError(
            f"the store at {shown} is at revision {status.current}, which this version of "
            f"ordergraph does not know (expected {status.head}); it was migrated by a newer "
            "ordergraph: upgrade ordergraph"
        )
    if auto_migrate:
        return await migrate(url)
    where = (
        "has no ordergraph schema"
        if status.current is None
        else f"is at revision {status.current}, this ordergraph needs {status.head}"
    )
    raise StoreNotMigratedError(
        f"the store at {shown} {where}: run `ordergraph migrate --store {shown}`, "
        "or start with `--migrate`"
    )
