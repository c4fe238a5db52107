"""The recommendation engine: pure numpy/scipy/implicit, no Django (the serving side adapts Events to it).

- `data.build_dataset(user_ids, item_ids, times, weights=None, baskets=None) -> Dataset`: ids as strings,
  `users`/`items` lists, `user_index`/`item_index` dicts, `matrix` (CSR user x item, summed weights),
  `last_time` per user, per-row arrays; `history(u)` (recent first), `seen(u)`, `subset(mask)`.
- `sources`: `UserQuery(user_index | None, history=[(item, time, weight)] recent first, exclude, now)`,
  `query_for(dataset, user_id)`; sources `Popularity`, `Trending`, `ALS` (implicit, CPU, BM25 confidences,
  fold-in of unseen users), `ItemItem`, `CoPurchase` (both with `neighbours(item, n)` and
  `contributions(query, item)` for explanations), `Content` (item vectors; `neighbours`). Each has
  `name`, `fit(dataset, item_vectors=None)`, `candidates(query, n) -> [(item, score)]` best first.
- `fusion.fuse(ranked_lists, weights, k=60) -> [(item, score, {source: rank})]`: weighted reciprocal rank.
- `hybrid.HybridRecommender(sources=None, weights=None)`: `fit`, `per_source`, `recommend`, `save`, `load`;
  `tune_weights(splits, make, ...)` picks coarse fusion weights on validation windows.
- `metrics`: recall/ndcg/hit rate at k, catalogue coverage; `splits`: cutoff and per-user time splits.
- `offline`: the evaluation behind `manage.py evaluate_recommendations` (reading interaction files).
"""
