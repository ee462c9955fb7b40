from django.contrib import admin

from kontosjef.audit.admin import ReadOnlyAdmin
from kontosjef.integrations.models import ImportRun


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "importer", "source", "path", "outcome", "rows", "by"]
    list_filter = ["importer", "source", "outcome"]
    search_fields = ["path"]
    list_select_related = ["by"]
