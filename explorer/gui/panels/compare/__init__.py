"""The compare window's panels: both sides and their differences."""
