"""The accounts repository over HTTP: a CRM / billing system (or ``standin.py``).

Timeouts and retries come from Settings (``ACCOUNTS_TIMEOUT``, ``ACCOUNTS_RETRIES``)
and apply to every call here, nowhere else. A read, and a change carrying a request
key (the service applies a key once), is tried again after a timeout, a refused
connection or a 5xx; verification is not, since a retried wrong PIN would count twice.
Whatever still fails raises ``BackendUnavailable``: the caller apologises and offers a person.
A change whose request may have arrived (a try that timed out waiting for the answer) raises
``ChangeOutcomeUnknown`` instead: the service may have made it, so nobody may say it was not.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List, Optional, Tuple

import requests

from actions.accounts import repository as r
from actions.accounts.wire import load

logger = logging.getLogger(__name__)


class HttpAccounts:
    def __init__(self, base_url: str, token: Optional[str] = None, timeout: float = 3.0, retries: int = 1):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def from_settings(cls, settings) -> "HttpAccounts":
        return cls(settings.accounts_backend_url, settings.accounts_backend_token,
                   settings.accounts_timeout, settings.accounts_retries)

    # ------------------------------------------------------------ transport
    def _call(self, method: str, path: str, body: Optional[dict] = None, retry: bool = True,
              params: Optional[dict] = None, change: bool = False) -> requests.Response:
        tries = 1 + (self.retries if retry else 0)
        maybe_made = False  # a change sent whose answer never came: the service may have made it
        for attempt in range(1, tries + 1):
            try:
                response = self.http.request(method, self.base_url + path, json=body, params=params,
                                             timeout=self.timeout)
            except requests.RequestException as e:
                reason = type(e).__name__
                maybe_made |= change and isinstance(e, requests.ReadTimeout)
            else:
                if response.status_code < 500:
                    return response
                reason = f"HTTP {response.status_code}"
            # No path or body in the log: they may hold a phone number or a customer's words.
            logger.warning("accounts backend %s %s failed (%s), try %d of %d",
                           method, path.split("/")[1], reason, attempt, tries)
        raise (r.ChangeOutcomeUnknown if maybe_made else r.BackendUnavailable)(reason)

    def _json(self, method: str, path: str, **kwargs) -> Any:
        response = self._call(method, path, **kwargs)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise r.BackendUnavailable(f"HTTP {response.status_code}")
        return response.json()

    # ------------------------------------------------------------ the repository
    def verify(self, phone: str, pin: str, now: Optional[dt.datetime] = None) -> Optional[r.Customer]:
        response = self._call("POST", "/verify", {"phone": phone, "pin": pin}, retry=False)
        if response.status_code == 423:
            raise r.AccountLocked(dt.datetime.fromisoformat(response.json()["until"]))
        if response.status_code in (401, 404):
            return None
        if response.status_code >= 400:
            raise r.BackendUnavailable(f"HTTP {response.status_code}")
        return load(r.Customer, response.json())

    def issue_code(self, phone: str, now: Optional[dt.datetime] = None) -> Optional[Tuple[r.Customer, str]]:
        response = self._call("POST", "/login-codes", {"phone": phone}, retry=False)
        if response.status_code == 423:
            raise r.AccountLocked(dt.datetime.fromisoformat(response.json()["until"]))
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise r.BackendUnavailable(f"HTTP {response.status_code}")
        data = response.json()
        return load(r.Customer, data["customer"]), data["code"]

    def verify_code(self, phone: str, code: str, now: Optional[dt.datetime] = None) -> Optional[r.Customer]:
        response = self._call("POST", "/login-codes/verify", {"phone": phone, "code": code}, retry=False)
        if response.status_code == 423:
            raise r.AccountLocked(dt.datetime.fromisoformat(response.json()["until"]))
        if response.status_code in (401, 404):
            return None
        if response.status_code >= 400:
            raise r.BackendUnavailable(f"HTTP {response.status_code}")
        return load(r.Customer, response.json())

    def get(self, customer_id: int) -> Optional[r.Customer]:
        data = self._json("GET", f"/customers/{int(customer_id)}")
        return load(r.Customer, data) if data else None

    def bills(self, customer_id: int, months: int = 6) -> List[r.Bill]:
        data = self._json("GET", f"/customers/{int(customer_id)}/bills", params={"months": months}) or []
        return [load(r.Bill, b) for b in data]

    def usage(self, customer_id: int) -> Optional[r.Usage]:
        data = self._json("GET", f"/customers/{int(customer_id)}/usage")
        return load(r.Usage, data) if data else None

    def payments(self, customer_id: int, limit: int = 5) -> List[r.Payment]:
        data = self._json("GET", f"/customers/{int(customer_id)}/payments", params={"limit": limit}) or []
        return [load(r.Payment, p) for p in data]

    def orders(self, customer_id: int) -> List[r.Order]:
        return [load(r.Order, o) for o in self._json("GET", f"/customers/{int(customer_id)}/orders") or []]

    def tickets(self, customer_id: int, open_only: bool = True) -> List[r.Ticket]:
        data = self._json("GET", f"/customers/{int(customer_id)}/tickets",
                          params={"open_only": "1" if open_only else "0"}) or []
        return [load(r.Ticket, t) for t in data]

    def report_fault(self, customer_id: int, what: str, where: str, since: str, request_key: str) -> r.Ticket:
        data = self._json("POST", f"/customers/{int(customer_id)}/tickets", change=True,
                          body={"what": what, "where": where, "since": since, "request_key": request_key})
        return load(r.Ticket, data)

    def plans(self) -> List[r.Plan]:
        return [load(r.Plan, p) for p in self._json("GET", "/plans") or []]

    def change_plan(self, customer_id: int, plan_code: str, request_key: str) -> r.PlanChange:
        response = self._call("POST", f"/customers/{int(customer_id)}/plan-changes",
                              {"plan_code": plan_code, "request_key": request_key}, change=True)
        if response.status_code == 422:
            raise r.UnknownPlan(plan_code)
        if response.status_code >= 400:
            raise r.BackendUnavailable(f"HTTP {response.status_code}")
        return load(r.PlanChange, response.json())

    def profile_summary(self, customer_ref: str) -> Dict:
        try:
            customer_id = int(customer_ref)
        except (TypeError, ValueError):
            return {}
        return self._json("GET", f"/customers/{customer_id}/profile") or {}
