"""Themes and the plots' side of a theme."""
