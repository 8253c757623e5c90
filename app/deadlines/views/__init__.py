"""Deadlines on screen: the dashboard and timer badges (dashboard.py), the working-day calendar (calendar.py)."""
