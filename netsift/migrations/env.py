"""Alembic environment: runs the migrations against the configured URL."""

from __future__ import annotations

import os

from alembic import context

from netsift.db import engine_for, normalized_url
from netsift.schema import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url") or os.environ.get(
    "NETSIFT_DATABASE_URL", "sqlite:///netsift.db"
)


def run_migrations_online() -> None:
    engine = engine_for(normalized_url(url))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    context.configure(url=normalized_url(url), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
