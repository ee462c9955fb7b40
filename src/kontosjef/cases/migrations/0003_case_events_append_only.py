from django.db import migrations

from kontosjef.audit.appendonly import migration_operations


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_initial")]
    operations = [migration_operations("cases_caseevent")]
