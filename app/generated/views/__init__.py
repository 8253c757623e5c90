"""CRUD screens (screens.py) and REST APIs (api.py) generated from the model's entities, with their
columns, forms, schemas, argument checks, row scope and the refusals they answer with."""
from __future__ import annotations

from app.generated.views.api import make_api
from app.generated.views.screens import make_view

__all__ = ["make_api", "make_view"]
