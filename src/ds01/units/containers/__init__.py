"""Tier 2 container units: create, run/start/stop/cleanup, list/stats/status, saved definitions.

Each module calls ``ds01.base`` (the only code that talks to Docker), the GPU service and the
limits resolver; none calls another unit package. The ledger's ``container`` key is always
the full Docker name ``<name>._.<uid>``.
"""
