"""Personal data in the web service: masked by default, revealed on record, kept only as
long as allowed (``retention``), exported and erased on a customer's request
(``customer_records``). ``python -m handoff_service.privacy`` runs these from a shell."""
