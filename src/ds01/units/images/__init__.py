"""Tier 2 image units: the caller's own images built on framework images (SPEC §6).

``packages`` holds the phase tables and package validation, ``dockerfile`` the pure
Dockerfile model, ``create``/``update``/``listing``/``delete`` the unit functions; the
Docker side lives in ``ds01.base.images``.
"""
