# LoginFailure and IdempotentRequest moved to the plumbing app (painpump.plumbing.models), which
# both front doors share. Only Django's state changes: the tables keep their names and rows, and
# plumbing's 0001_initial takes them over.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0002_idempotency_keys'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='LoginFailure'),
                migrations.DeleteModel(name='IdempotentRequest'),
            ],
            database_operations=[],
        ),
    ]
