"""The policy engine: which endpoints a dynamic name answers with. Pure."""
