"""Where clients are: the geo database shell, its file, building one, and distances."""
