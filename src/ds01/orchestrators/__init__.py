"""Tier 3: multi-step workflows (``project init``, ``container deploy``/``retire``).

An orchestrator calls units only; it adds ordering, skipping and a summary of what was done.
"""
