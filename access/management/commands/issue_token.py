"""`manage.py issue_token <username> --scope read|ingest|full --name crm-sync`: prints the key once.
`manage.py issue_token --revoke <prefix>` revokes the token with that prefix."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from access.models import ApiToken
from access.tokens import issue_token, revoke_token
from core.scopes import TokenScope


class Command(BaseCommand):
    help = "Issue an API token for a user (the key is printed once and never stored), or revoke one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?")
        parser.add_argument("--scope", choices=TokenScope.values, default=TokenScope.READ)
        parser.add_argument("--name", default="", help="what uses the token, e.g. crm-sync")
        parser.add_argument("--revoke", metavar="PREFIX", help="revoke the token whose key starts so")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["revoke"]:
            tokens = list(ApiToken.objects.filter(prefix=options["revoke"][:12]))
            if len(tokens) != 1:
                raise CommandError(f"{len(tokens)} tokens have the prefix {options['revoke']!r}: name exactly one")
            revoked = revoke_token(tokens[0])
            self.stdout.write(f"revoked {tokens[0]}" if revoked else f"{tokens[0]} was already revoked")
            return
        if not options["username"]:
            raise CommandError("name the user the token acts as (or --revoke PREFIX)")
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(f"no user {options['username']!r}") from None
        token, key = issue_token(user, options["scope"], options["name"])
        self.stderr.write(f"issued {token}; the key is shown only now:")
        self.stdout.write(key)
