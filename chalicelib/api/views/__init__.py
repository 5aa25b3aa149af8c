"""Pydantic models at the HTTP edge, one module per audience (see each module's docstring)."""
