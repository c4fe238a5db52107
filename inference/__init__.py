"""Model runtime: roles (embedding, sentiment, aspects, generation), backends, devices and batching.

Knows nothing of customers, reviews or campaigns and defines no Django models: callers pass texts in
and get numbers and labels out. `inference.registry` hands out one loaded model per role and process.
"""
