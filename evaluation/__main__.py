"""`make eval`: every evaluation, one after the other (each skips itself when ../shared/data is absent)."""

from __future__ import annotations

import sys

from . import aspects, recommendations, sentiment


def main() -> int:
    codes = [sentiment.main([]), aspects.main([]), recommendations.main([])]
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
