"""Every table of the app database, from each package that owns some.

Alembic's environment (migrations/env.py) and the test that compares the migrations with the
code read this one list. It sits on top, like the launcher: the packages never import it.
"""
from __future__ import annotations

from typing import List

import sqlalchemy as sa


def app_metadata() -> List[sa.MetaData]:
    from actions import accounts
    from bot.channels import callbacks_seen
    from bot.channels import offered_options  # noqa: F401  (its table joins callbacks_seen.metadata)
    from handoff_service import storage as handoff_storage
    from handoff_service.audit import storage as audit_storage
    from handoff_service.console import canned_storage  # noqa: F401  (its table joins handoff_storage.metadata)
    from handoff_service.dashboard import storage as dashboard_storage
    from handoff_service.desk import storage as desk_storage  # noqa: F401  (its tables join handoff_storage.metadata)
    from handoff_service.desk import ops_storage  # noqa: F401  (handoff_notes joins handoff_storage.metadata)
    from handoff_service.identities import storage as identities_storage
    from knowledge_base import storage as kb_storage
    from knowledge_base import unanswered  # noqa: F401  (its table joins kb_storage.metadata)

    return [kb_storage.metadata, accounts.metadata, handoff_storage.metadata, audit_storage.metadata,
            identities_storage.metadata, dashboard_storage.metadata,
            callbacks_seen.metadata]
