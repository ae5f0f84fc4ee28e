"""Health: which endpoints and pools are up, as immutable views the engine reads."""
