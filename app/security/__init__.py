"""Roles and permissions generated from the model; the staff user screens."""
