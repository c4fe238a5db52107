"""API tokens: stored as a SHA-256 hash of a high-entropy key, found by a short non-secret prefix.

The key itself is shown once, when the token is issued (admin message or `manage.py issue_token`), and is
never stored: a leaked database or an admin screenshot gives no working credential. A token acts as its
user, narrowed by its scope (core.scopes.TokenScope); revoking it keeps the row for the audit trail.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.scopes import TokenScope

PREFIX_LENGTH = 12  # "ecm_" and 8 random characters; legacy 40-hex keys: their first 12 characters


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens",
                             help_text="The token acts as this user, within the scope below.")
    name = models.CharField(max_length=100, help_text="What uses it, e.g. crm-sync.")
    scope = models.CharField(max_length=10, choices=TokenScope.choices, default=TokenScope.READ)
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Written at most once a minute per token (tokens.USE_RECORD_INTERVAL), not on every request.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.scope})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
