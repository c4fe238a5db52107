"""One row per deliberate act on the shop's data or its people: who, what, to which record, when, from where.

Our own small model rather than django-auditlog or django-simple-history: those record field diffs of
every save (a bulk import would write millions of rows), while the acts that matter here (an approval, a
send to 1,203 customers, an erasure, a token revoked) are domain steps, several saves or none. Entries are
never edited or deleted through the app (the admin is read-only), and they keep no personal data beyond
the label of the record acted on (an erased customer is named by its pseudonym).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    APPROVE = "approve", "approve"
    REJECT = "reject", "reject"
    SEND = "send", "send"
    TEST_SEND = "test_send", "test send"
    OVERRIDE = "override", "override"  # a manager overrides a rule (a guardrail, a winner, a hand-off)
    TRANSITION = "transition", "status change"
    EXPORT = "export", "export of personal data"
    ERASE = "erase", "erasure of personal data"
    UNSUBSCRIBE = "unsubscribe", "unsubscribe"
    TOKEN_CREATE = "token_create", "API token created"
    TOKEN_REVOKE = "token_revoke", "API token revoked"
    PERMISSION_CHANGE = "permission_change", "permission change"
    LOGIN_LOCKOUT = "login_lockout", "login locked out"
    OTHER = "other", "other"


class AuditEntry(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept when the user is deleted: "alice", "system", "token:shopify-sync".
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=40, choices=AuditAction.choices, db_index=True)
    target_type = models.CharField(max_length=100, blank=True, help_text="app_label.model of the record acted on")
    target_id = models.CharField(max_length=100, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        target = f" {self.target_type} {self.target_label or self.target_id}" if self.target_type else ""
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label}: {self.get_action_display()}{target}"
