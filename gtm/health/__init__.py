"""Health: probes, checkers, votes and their consensus, and the stores and service that turn
them into the health views (`gtm.model.health`) the engine reads."""
