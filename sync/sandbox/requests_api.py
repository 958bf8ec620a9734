"""Placeholder."""

from .routing import Router

__all__ = ["register"]


def register(r: Router) -> None:
    """Add routes."""
