"""The services actions call, built once per action-server process from Settings."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from actions.accounts import AccountRepository
from actions.handoff_client import HandoffClient
from bot.database import create_engine
from bot.settings import Settings
from knowledge_base.search import KnowledgeBase
from knowledge_base.storage import FaqRepository


@dataclass
class Services:
    knowledge_base: KnowledgeBase
    accounts: AccountRepository
    handoffs: HandoffClient


@lru_cache(maxsize=1)
def services() -> Services:
    settings = Settings.from_env().require("service_token")
    engine = create_engine(settings.database_url)
    return Services(
        knowledge_base=KnowledgeBase(FaqRepository(engine)),
        accounts=AccountRepository(engine),
        handoffs=HandoffClient(settings.web_url, settings.service_token),
    )
