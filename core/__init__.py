"""The shared kernel every app builds on, and nothing of ours below it.

Typed environment readers (`env`), the embedded PostgreSQL and Redis (`embedded`), the bulk upsert engine
(`upsert`) and the API building blocks on top of it (`viewsets`, `pagination`, `permissions`), the
`Progress` protocol long work reports through (`progress`), and who does an action (`actors`). It imports
Django and DRF, never an app of this project.
"""
