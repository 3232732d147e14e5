"""The audit log: the hash chain (``chain``), the canonical event form auditors recompute
(``canonical``), signed checkpoints (``checkpoint``, ``keys``), and exports with their offline
verification (``export``, ``bundle``). It stores through :mod:`kopflow.store` and knows no rules."""
