"""The printable pages: the district report's data (``data``) and HTML (``html``), a
cooperative's timeline page (``timeline``), inline SVG charts (``svg``), the page skeleton
(``markup``, ``templates/``) and printing to PDF with Chromium (``chromium``). Reads only."""
