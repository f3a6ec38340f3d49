# The models moved here from the api app (api 0003): their tables (api_loginfailure,
# api_idempotentrequest), index and constraint exist already, so this creates them in Django's
# state only and touches no database.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("api", "0003_move_loginfailure_idempotentrequest_to_plumbing"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="LoginFailure",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("username", models.CharField(max_length=150)),
                        ("ip", models.GenericIPAddressField()),
                        ("at", models.DateTimeField(db_index=True)),
                    ],
                    options={
                        "db_table": "api_loginfailure",
                        "indexes": [
                            models.Index(
                                fields=["username", "ip", "at"],
                                name="api_loginfa_usernam_57dbd2_idx",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="IdempotentRequest",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("key", models.CharField(max_length=80)),
                        ("fingerprint", models.CharField(max_length=64)),
                        ("method", models.CharField(max_length=10)),
                        ("path", models.CharField(max_length=400)),
                        ("status", models.PositiveSmallIntegerField(default=0)),
                        ("content_type", models.CharField(blank=True, max_length=100)),
                        ("location", models.CharField(blank=True, max_length=400)),
                        ("body", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(db_index=True)),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "api_idempotentrequest",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("user", "key"), name="idempotency_key_per_user"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
