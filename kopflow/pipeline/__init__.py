"""The change pipeline every write goes through: a :class:`~kopflow.pipeline.change.Change` (one
transaction, its actor, pinned definition, loaded cooperatives, queued rows and audit events),
the data a change works on (``work``) and the one driver that runs single and bulk changes
(``driver``). Rules modules sit above it; storage and the audit chain below."""
