"""Jobs as Ray tasks: the same job units, results and resume as the local pool, on a
Ray cluster (``--executor ray --ray-address HOST:PORT``) or a local Ray runtime.

Each task runs ``sandbox.run.workers.run_in_worker`` on a worker that imports the sandbox itself
(install it on every node of a cluster); progress is reported per finished job. A cluster
that refuses the connection (Ray 2.60's token authentication) is said in one line; the
recipe is in docs/scaling-out.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.run.workers import ExecutorUnavailable, Job, JobFailed, Progress, run_in_worker


def _job_on_ray(job: Job) -> tuple[Any, dict[str, Any] | None, tuple[str, str] | None]:
    import torch

    torch.set_num_threads(1)  # one core per task, as in the local pool
    return run_in_worker(job)


def run_on_ray(
    jobs: list[Job],
    on_result: Callable[[dict[str, Any]], None],
    progress: Progress,
    workers: int,
    address: str | None,
) -> None:
    try:
        import ray
    except ImportError:
        raise RuntimeError('the ray executor needs Ray: pip install -e ".[ray]"') from None
    started_here = not ray.is_initialized()
    if started_here:
        # A local runtime gets as many CPUs as --workers; a cluster brings its own.
        refused = (ConnectionError, getattr(ray.exceptions, "AuthenticationError", ConnectionError))
        try:
            ray.init(
                address=address,
                num_cpus=None if address else workers,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        except refused as error:
            raise ExecutorUnavailable(_refusal(address, error)) from None
    remote = ray.remote(num_cpus=1, max_retries=0)(_job_on_ray)
    pending = {remote.remote(job): job.key for job in jobs}
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                pending.pop(ref)
                key, result, failure = ray.get(ref)
                if failure is not None:
                    raise JobFailed(key, *failure)
                seconds = result.get("wall_time_s") if isinstance(result, dict) else None
                progress.finish(key, seconds)
                on_result(result)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()


def _refusal(address: str | None, error: BaseException) -> str:
    """Why ``ray.init`` failed, in one line: a missing or wrong token says what to set."""
    where = address or "the Ray runtime"
    # Ray 2.60 raises AuthenticationError for a missing token, and after 20 s of retries a
    # ConnectionError whose cause quotes the GCS's "Authentication token is missing ...".
    if "authentication token" in f"{error}\n{error.__cause__ or ''}".lower():
        return (
            f"Ray refused the connection to {where}: the cluster asks for its authentication "
            "token; set RAY_AUTH_MODE=token and give this machine the head's token (its "
            "~/.ray/auth_token copied here, or RAY_AUTH_TOKEN), see docs/scaling-out.md"
        )
    return f"could not connect to Ray at {where}: {str(error).splitlines()[0]}"
