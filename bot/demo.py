"""Load the demo content (FAQs, customers, staff logins); safe to run again."""
from __future__ import annotations

from pathlib import Path

import yaml

from actions.accounts import AccountRepository
from bot.demo_accounts import load_demo_accounts
from bot.database import create_engine
from bot.settings import PROJECT_ROOT, Settings
from handoff_service.audit import storage as audit
from handoff_service.desk.routing import RoutingRepository
from handoff_service.desk.storage import SKILL_GROUPS
from handoff_service.storage import StaffRepository
from knowledge_base.storage import Faq, FaqDetails, FaqRepository

DEMO_FAQS = PROJECT_ROOT / "knowledge_base" / "demo_faqs.yml"
DEMO_CUSTOMERS = PROJECT_ROOT / "actions" / "demo_customers.yml"
DEMO_STAFF = (
    ("agent", "Demo Agent", ["agent"]),
    ("editor", "Demo Editor", ["editor"]),
    ("supervisor", "Demo Supervisor", ["supervisor", "agent"]),
)


def _read(path: Path):
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f) or []


def load_demo(settings: Settings, staff_password: str, replace_faqs: bool = False) -> None:
    """Seed an empty app database.  FAQs already there are kept (editors' work)
    unless ``replace_faqs``; customers and staff logins are refreshed."""
    engine = create_engine(settings.database_url)
    try:
        faqs = FaqRepository(engine)
        if replace_faqs or faqs.count() == 0:
            faqs.upsert_many([
                Faq(0, item["slug"], item["answers"], item["questions"], details=FaqDetails(
                    category=item.get("category", ""), skill_group=item.get("skill_group", ""),
                    tags=tuple(item.get("tags", ()))))
                for item in _read(DEMO_FAQS)
            ])
        load_demo_accounts(AccountRepository(engine), _read(DEMO_CUSTOMERS))
        staff, log = StaffRepository(engine), audit.AuditLog(engine)
        for username, name, roles in DEMO_STAFF:
            before = staff.get(username)
            staff.upsert(username, name, staff_password, roles)
            if before is None or set(before.roles) != set(roles):
                log.record(None, audit.STAFF_ACCOUNT_CHANGED, "staff", username,
                           {"roles": roles, "created": before is None})
        # --- desk (#7): demo agents take every skill group and language; they start offline
        # (no automatic assignment until they switch to online in the console).
        routing = RoutingRepository(engine)
        for username, _, roles in DEMO_STAFF:
            if "agent" in roles:
                routing.set_agent(username, skills=list(SKILL_GROUPS))
    finally:
        engine.dispose()
