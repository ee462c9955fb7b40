from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
UCI = DATA / "servicenow-incidents" / "incident_event_log.zip"
HELPDESK = DATA / "helpdesk-italy" / "helpdesk.csv"

needs_data = pytest.mark.skipif(
    not UCI.exists() or not HELPDESK.exists(),
    reason="the shared data sets (../shared/data) are not beside the repository",
)


def database_fingerprint() -> tuple[int, ...]:
    """Row counts of every table an import may touch: equal fingerprints, untouched database."""
    from kontosjef.accounts.models import Account, Contact, Product
    from kontosjef.audit.models import AuditEntry
    from kontosjef.cases.models import Case, CaseEvent
    from kontosjef.people.models import Department, User

    return tuple(
        m.objects.count()
        for m in (Account, Contact, Product, Case, CaseEvent, Department, User, AuditEntry)
    )
