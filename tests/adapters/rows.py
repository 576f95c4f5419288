"""Rows the adapter tests create directly with Core inserts (what the connect flow would have stored)."""

from __future__ import annotations

import uuid

from sqlalchemy import insert

from onyx_adapters.sql.engine import create_sync_engine
from onyx_adapters.sql.schema import agencies, connections


def new_connection(url: str) -> str:
    """An agency and its connection row without tokens (what the connect flow creates), by Core inserts."""
    agency, connection = f"ag-{uuid.uuid4().hex[:12]}", f"cn-{uuid.uuid4().hex[:12]}"
    engine = create_sync_engine(url)
    try:
        with engine.begin() as db:
            db.execute(insert(agencies).values(id=agency, name="Agency", fanvue_user_uuid=str(uuid.uuid4())))
            db.execute(
                insert(connections).values(
                    id=connection,
                    kind="agency",
                    agency_id=agency,
                    creator_id=None,
                    fanvue_user_uuid=str(uuid.uuid4()),
                    status="active",
                    tokens=None,
                    token_version=0,
                )
            )
    finally:
        engine.dispose()
    return connection
