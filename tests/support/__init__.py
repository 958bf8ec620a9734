"""Helpers shared by several test directories (plain modules: conftest modules are not imported)."""
