"""The accounts layer: what self-service may read and change about a verified customer.

``repository`` is the interface and its values; ``sql`` the app-database implementation,
``http`` a client for a CRM / billing system over HTTP, ``standin`` a local stand-in for
one (tests and the demo start it as a process). ``build_accounts`` picks one from Settings.
"""
from actions.accounts.repository import (  # noqa: F401  (the package's public names)
    MAX_PIN_FAILURES,
    PIN_LOCK,
    AccountLocked,
    AccountsRepository,
    BackendUnavailable,
    Customer,
    mask_phone,
    normalise_phone,
)
from actions.accounts.sql import AccountRepository, SqlAccounts, customers, metadata, stored_forms  # noqa: F401
