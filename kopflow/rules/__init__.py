"""The rules of every kind of change, one module each, working on a
:class:`~kopflow.pipeline.change.Change` and never on the engine: ``steps`` (complete, correct,
undo), ``transition`` (stage moves and their guard), ``enrollment`` (partner enrolment),
``registration`` (new cooperatives), ``actors`` (who may act), ``migration`` (moving onto a new
workflow version), ``roles`` (PostgreSQL grants) and ``transfer`` (moving a database); and the
reads the CLI shows (``queries``, ``partners``)."""
