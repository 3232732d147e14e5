"""Hosting partner plugins: the hook specifications (``hookspecs``), the tolerant plugin host
(``manager``), where a plugin came from (``source``), checks of what a plugin declares
(``partner_check``) and the settings file (``config``). Partners never import this package:
their API is :mod:`kopflow.plugin`."""
