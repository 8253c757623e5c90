"""The declarative business model: schema, loader with line numbers, and checks."""
