"""The declarative business model: schema, loader with line numbers, checks and the condition language."""
