"""Views of the shared ExplorerState: each takes the state in __init__ and keeps no copy."""
