"""The store's schema revisions, one file each, oldest first (release 1's baseline is ``0001``)."""

__all__: list[str] = []
