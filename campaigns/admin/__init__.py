"""The campaign manager's admin: the brief and the workflow buttons (`campaign`, `pages`), side-by-side
review of the copy (`review`), a preview as one customer would get it (`preview`), the experiment's results
with charts (`results`), and the records a campaign leaves (`records`).

Views only translate: every step goes through `campaigns.actions`, jobs are queued by those steps,
numbers come from `campaigns.analysis`. Analysts (view permission only) see every page without buttons.
"""

from . import brand, campaign, records  # noqa: F401  (the modules register their ModelAdmins)
