"""The REST API (FastAPI): ``create_app(space_path)``."""
