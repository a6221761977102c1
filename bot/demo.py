"""Load the demo content (FAQs, customers, staff logins); safe to run again."""
from __future__ import annotations

from pathlib import Path

import yaml

from actions.accounts import AccountRepository
from bot.database import create_engine
from bot.settings import PROJECT_ROOT, Settings
from handoff_service.storage import StaffRepository
from knowledge_base.storage import FaqRepository

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
            for item in _read(DEMO_FAQS):
                faqs.upsert(item["slug"], item["answers"], item["questions"])
        accounts = AccountRepository(engine)
        for c in _read(DEMO_CUSTOMERS):
            accounts.add_customer(**c)
        staff = StaffRepository(engine)
        for username, name, roles in DEMO_STAFF:
            staff.upsert(username, name, staff_password, roles)
    finally:
        engine.dispose()
