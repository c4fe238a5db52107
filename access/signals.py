"""Audit entries for changes of who may do what, and for admin login lockouts.

Group membership, a user's own permissions and a group's permissions change through many-to-many
relations (the admin's user and group pages, `user.groups.add`, the role set-up), so `m2m_changed` on
the three relations catches every way. The actor is the signed-in person of the current request, else
the system.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.db.models import Model
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from audit.log import client_address, record
from audit.models import AuditAction, AuditEntry

from .middleware import current_request

_RELATIONS = {
    User.groups.through: ("groups", User, Group),
    User.user_permissions.through: ("user_permissions", User, Permission),
    Group.permissions.through: ("permissions", Group, Permission),
}


def _label(obj: Model) -> str:
    if isinstance(obj, Permission):
        return f"{obj.content_type.app_label}.{obj.codename}"
    return str(obj)


def _record_change(owner: Model, relation: str, change: str, others: list[Model]) -> None:
    request = current_request.get()
    actor = getattr(request, "user", None) if request is not None else None
    record(actor, AuditAction.PERMISSION_CHANGE, owner,
           details={"relation": relation, change: sorted(_label(o) for o in others)}, request=request)


@receiver(m2m_changed)
def permission_changed(sender: Any, instance: Model, action: str, reverse: bool, model: type[Model],
                       pk_set: set[Any] | None, **kwargs: Any) -> None:
    if sender not in _RELATIONS:
        return
    relation, owner_model, other_model = _RELATIONS[sender]
    if action == "pre_clear":
        # the members are gone after the clear: name them now
        manager = getattr(instance, relation) if not reverse else getattr(instance, _reverse_name(sender))
        pk_set, action = set(manager.values_list("pk", flat=True)), "post_remove"
    if action not in ("post_add", "post_remove") or not pk_set:
        return
    change = "added" if action == "post_add" else "removed"
    if not reverse:  # user.groups.add(group): one owner, several others
        _record_change(instance, relation, change, list(other_model._default_manager.filter(pk__in=pk_set)))
    else:  # group.user_set.add(user): each user (or group) gains or loses `instance`
        for owner in owner_model._default_manager.filter(pk__in=pk_set):
            _record_change(owner, relation, change, [instance])


def _reverse_name(sender: Any) -> str:
    return {User.groups.through: "user_set", User.user_permissions.through: "user_set",
            Group.permissions.through: "group_set"}[sender]


@receiver(user_locked_out)
def login_locked_out(sender: Any, request: HttpRequest, username: str | None, ip_address: str | None,
                     **kwargs: Any) -> None:
    """One entry per lockout: axes signals every refused attempt, the log needs the first of a cool-off."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    address = ip_address or client_address(request)
    label = f"login:{username or '?'}"
    if AuditEntry.objects.filter(action=AuditAction.LOGIN_LOCKOUT, actor_label=label[:200], ip=address,
                                 at__gte=since).exists():
        return
    record(label, AuditAction.LOGIN_LOCKOUT, None, target_label=username or "",
           details={"username": username or "", "failures": settings.AXES_FAILURE_LIMIT,
                    "cool_off_minutes": int(settings.AXES_COOLOFF_TIME / timedelta(minutes=1))}, request=request)
