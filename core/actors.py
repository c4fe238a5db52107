"""Who does an action: a signed-in person (`request.user`) or the system itself (`None`, e.g. a job).

Domain functions that check permissions or record who did something take an `Actor`. The helpers
here answer the two questions they ask of it, so none of them needs `Any` or `getattr` games.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User

# What `request.user` is (a person, or anonymous), or None when the system acts on its own.
Actor = AbstractBaseUser | AnonymousUser | None


def has_perm(actor: Actor, permission: str) -> bool:
    """Whether a signed-in person holds `permission` ("app.codename"); False for anonymous and the system."""
    return isinstance(actor, User) and actor.is_authenticated and actor.has_perm(permission)


def stored_user(actor: Actor) -> User | None:
    """The user to record in a `created_by`-style foreign key: the person, or None (anonymous, system)."""
    return actor if isinstance(actor, User) and actor.is_authenticated else None
