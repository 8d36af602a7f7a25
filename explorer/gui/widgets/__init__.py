"""Small reusable widgets: the input bar, the message bar, shortcuts, the paint batch."""
