"""Load test (locust) of event ingest and recommendations against gunicorn on loopback: `make load`."""
