"""Development entry point: `python run.py` serves the app on 127.0.0.1:8080."""
from app import create_app

if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=8080)
