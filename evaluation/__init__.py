"""Offline evaluations on the development data in ../shared/data (`make eval`)."""
