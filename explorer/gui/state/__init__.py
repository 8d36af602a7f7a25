"""Shared, Qt-evented state that every panel views: selection, lens options, settings."""
