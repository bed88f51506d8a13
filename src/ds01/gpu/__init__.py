"""Shared service: GPU inventory (NVML or simulated), the allocator, the allocation ledger.

``gpu.inventory`` is the only module that talks to NVML. The allocator is a pure function
over plain data; the ledger (SQLite) is the single record of who was promised which slot.
"""
