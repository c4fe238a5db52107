"""Model runtime (roles, backends, devices, batching). Knows nothing of customers or campaigns.

Filled by the model-runtime issue; the package exists so the layout and dependency direction are fixed.
"""
