"""Cases on screen and by API: the application page (page.py), stage-aware editing of the generated
screen and API (editing.py), the case's documents, defects and fees on its page (records.py)."""
