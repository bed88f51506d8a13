"""Shared service: the ``resource-limits.yaml`` schema, its strict validation, typed sizes
and durations, and per-user resolution (user_overrides > group > default_group > defaults).
"""
