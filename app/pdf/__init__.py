"""PDF rendering core for printed forms: fonts, templates, verification codes (no Flask)."""
