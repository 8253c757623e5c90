"""Words of Flask-AppBuilder's own templates that its Chinese catalogue lacks (the buttons of every
list, the confirmation dialog): marked here so that our catalogue carries their translations."""
from __future__ import annotations

from flask_babel import lazy_gettext

FAB_WORDS = (lazy_gettext("Edit"), lazy_gettext("Delete"), lazy_gettext("Cancel"), lazy_gettext("OK"),
             lazy_gettext("Show"), lazy_gettext("Add"))
