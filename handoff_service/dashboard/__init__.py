"""The supervisor dashboard: live wallboard, history, staffing forecast (issue #13).

It reads the desk's records (``handoffs`` and the desk tables named in the desk
contract) and writes only its own summary tables (``dash_*``); the desk never
imports it. See docs/dashboard.md for the figures' definitions.
"""
