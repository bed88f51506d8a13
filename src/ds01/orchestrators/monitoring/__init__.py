"""Monitoring: the usage report, the live dashboard's frames and the Prometheus exposition.

``report``: GPU-hours, container-hours, allocations, refusals, idle stops and peak slots per
user or group, from the ledger's history and the event log (``ds01 admin report``).
``snapshot``: one read-only look at slots, running containers, per-user totals and the last
events (``ds01 monitor dashboard``). ``metrics``: that look, plus the all-time counters, as
Prometheus metric families whose labels join with dcgm-exporter's (``ds01 monitor metrics``).
Nothing here writes to the ledger or changes a container.
"""
