"""Import every shipped analysis module so each registers itself with the registry."""
