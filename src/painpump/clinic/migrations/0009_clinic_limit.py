# Clinic drug-library limits and user-account versions (web: drug library, users).

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0008_refill_awaiting_verification'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ClinicLimit',
            fields=[
                ('version', models.PositiveIntegerField(default=1)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('drug', models.CharField(max_length=40)),
                ('rule', models.CharField(max_length=40)),
                ('value', models.DecimalField(decimal_places=6, max_digits=14)),
                ('unit', models.CharField(max_length=12)),
                ('severity', models.CharField(choices=[('hard', 'Hard: stops'), ('soft', 'Soft: warns, needs an acknowledgement')], max_length=4)),
                ('source', models.CharField(max_length=500)),
                ('set_by', models.CharField(max_length=150)),
                ('set_at', models.DateTimeField()),
                ('archived_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                ('archived_by', models.CharField(blank=True, max_length=150)),
                ('idempotency_key', models.CharField(blank=True, max_length=80, null=True, unique=True)),
            ],
            options={
                'ordering': ['drug', 'rule', 'set_at'],
            },
        ),
        migrations.CreateModel(
            name='AccountVersion',
            fields=[
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='account_version', serialize=False, to=settings.AUTH_USER_MODEL)),
                ('version', models.PositiveIntegerField(default=1)),
            ],
        ),
    ]
