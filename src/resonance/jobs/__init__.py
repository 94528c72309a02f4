"""The job queue adapter on huey: embedded SQLite queue by default, Redis to scale out."""
