"""Tier 2: single-purpose units (container-*, image-*, dir-create, git-init, readme-create,
ssh-setup, vscode-setup).

A unit calls ``base`` and the shared services (``gpu``, ``limits``) and never another unit;
orchestrators compose units.
"""
