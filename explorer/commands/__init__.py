"""Headless subcommands beyond ``inspect`` and ``compare``: each imports no Qt."""
