"""`make eval`: every evaluation, one after the other (those on ../shared/data skip themselves when it is
absent; the experiment simulation needs no data)."""

from __future__ import annotations

import sys

from . import aspects, chinese_sentiment, discounts, experiments, fusion, recommendations, send_time, sentiment
from . import uplift as uplift_simulation


def main() -> int:
    codes = [
        sentiment.main([]), chinese_sentiment.main([]), aspects.main([]), recommendations.main([]), fusion.main([]),
        experiments.main([]), send_time.main([]), send_time.main(["--demo"]),
        uplift_simulation.main([]),
        discounts.main([]),
    ]
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
