"""Fails at import, like a plugin whose dependency is missing."""

raise ImportError("No module named 'lpg_sdk'")
