"""Tier 1: the AIME-compatible container engine ("mlc") and the Docker SDK adapter.

The only package that talks to Docker. Everything above it (units, orchestrators)
creates, lists and removes containers and images through the functions here.
"""
