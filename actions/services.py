"""The services actions call, built once per action-server process from Settings."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from actions.accounts import AccountsRepository, SqlAccounts
from actions.accounts.http import HttpAccounts
from actions.accounts.senders import DemoSender, Sender, demo_outbox
from actions.handoff_client import HandoffClient
from bot.database import create_engine
from bot.settings import Settings
from knowledge_base.service import KnowledgeBase
from knowledge_base.storage import FaqRepository


@dataclass
class Services:
    knowledge_base: KnowledgeBase
    accounts: AccountsRepository
    handoffs: HandoffClient
    # --- accounts (#9) ---
    sender: Sender
    settings: Settings

    def knowledge_base_skill_group(self, slug: Optional[str]) -> Optional[str]:
        """The team a published FAQ names (its ``skill_group``), by slug; None if none."""
        if not slug:
            return None
        for faq in list(self.knowledge_base.index.by_id.values()):
            if faq.slug == slug:
                return faq.details.skill_group or None
        return None


@lru_cache(maxsize=1)
def services() -> Services:
    settings = Settings.from_env().require("service_token")
    engine = create_engine(settings.database_url)
    return Services(
        knowledge_base=KnowledgeBase(FaqRepository(engine)).start(),
        accounts=build_accounts(settings, engine),
        handoffs=HandoffClient(settings.web_url, settings.service_token),
        sender=DemoSender(demo_outbox(settings.var_dir)),
        settings=settings,
    )


def build_accounts(settings: Settings, engine) -> AccountsRepository:
    """The app database's accounts, or the CRM / billing service ACCOUNTS_BACKEND_URL names."""
    if settings.accounts_backend_url:
        return HttpAccounts.from_settings(settings)
    return SqlAccounts(engine)
