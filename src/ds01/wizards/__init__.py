"""Tier 4: onboarding wizards (``user setup``, ``new-project``).

A wizard adds explanations and prompts around orchestrators and units; the prompts only
fill in arguments of the same code path that flags use.
"""
