from django.tasks import task

from kontosjef.ops.schedule import job_named
from kontosjef.ops.services import job_run


@task
def run_job(name: str) -> None:
    """Run the scheduled job `name` of KONTOSJEF_SCHEDULE, recording how it went on its row."""
    job_run(job=job_named(name))
