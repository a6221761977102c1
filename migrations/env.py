"""Alembic environment: one migration history for the app database.

Each package owns its tables; bot.schema lists their MetaData objects together.
"""
from alembic import context

from bot.database import create_engine
from bot.settings import Settings
from bot.schema import app_metadata

target_metadata = app_metadata()

url = context.config.attributes.get("database_url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=url.startswith("sqlite"),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
