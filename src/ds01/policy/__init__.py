"""The one place ds01's security rules live (SPEC §9); every tier asks here.

A shared service like ``limits/``: plain functions over plain data (and, for mounts, the
file system as it is at the moment of the check). It never talks to Docker, NVML or the
ledger itself; callers pass in what they found there and act on the verdict. Each module
holds one family of rules:

- ``ownership``: whose container, image or ledger row something is, and who may act on it.
- ``mounts``: which host folders a caller may bind-mount (checked at every start).
- ``images``: which images a caller may build on or run.
- ``labels``: the ``ds01.*``/``aime.mlc.*`` namespaces ds01 alone writes.
- ``containers``: the hardening every container gets in each security mode.
- ``archives``: what an imported archive may set.
- ``priority``: where an allocation's priority comes from.
"""
