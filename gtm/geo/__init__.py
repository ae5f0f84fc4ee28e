"""Where clients are: the geo database shell, the record the engine sees, and distances."""
