"""The assistant in the admin: what it knows (`knowledge`: product Q&A, articles with a safe preview,
indexed chunks, publishable keys), its conversations with the sources beside each answer and the hand-off
inbox (`conversations`), and the questions it could not answer with the page that teaches it (`learning`).

Views only translate: every change to a conversation or an unanswered question is a step of
`assistant.inbox`. Analysts (view permission only) see every page without the forms.
"""

from . import conversations, knowledge, learning  # noqa: F401  (the modules register their ModelAdmins)
