"""ds01: a fair, self-service GPU container workplace for one shared multi-GPU server.

Tiers (SPEC §1): ``wizards`` → ``orchestrators`` → ``units`` → ``base``, with the shared
services ``gpu`` and ``limits``. ``cli`` is the thin click skin over all of them.
Nothing here does work at import time.
"""

__version__ = "0.1.0"
