"""The shared cache's table, and the plaintext keys of DRF's authtoken moved into hashed tokens.

`ecom_cache` backs CACHE_URL=db:// (throttles and failed-authentication counts shared by every process);
it is made here so `migrate` alone prepares a fresh machine. Each `authtoken_token` key becomes a full-scope
ApiToken with the same key (it keeps working), then the plaintext row is deleted.
"""

import hashlib

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

CACHE_TABLE = "ecom_cache"


def create_cache_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, CACHE_TABLE, dry_run=False)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(CACHE_TABLE)}")


def migrate_authtoken_keys(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("access", "ApiToken")
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")
        rows = cursor.fetchall()
    for key, user_id, created in rows:
        token = ApiToken.objects.create(
            user_id=user_id, name="migrated authtoken", scope="full", prefix=key[:12],
            key_hash=hashlib.sha256(key.encode()).hexdigest(),
        )
        ApiToken.objects.filter(pk=token.pk).update(created_at=created)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM authtoken_token")


class Migration(migrations.Migration):
    dependencies = [("access", "0001_initial")]

    operations = [
        migrations.RunPython(create_cache_table, drop_cache_table),
        migrations.RunPython(migrate_authtoken_keys, migrations.RunPython.noop),
    ]
