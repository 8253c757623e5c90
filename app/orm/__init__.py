"""Database classes: the staff user, classes generated from the model, migrations."""
