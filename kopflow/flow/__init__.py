"""Workflow definitions: the frozen specs and evidence parsing (``spec``), the YAML loader that
lists every problem (``load``), the one model-less state machine per definition (``machine``),
diagrams (``diagram``) and sample evidence (``samples``). No database, no plugins."""
