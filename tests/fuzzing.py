"""What the property tests (hypothesis) share: how many cases, and no time limit per case."""

from hypothesis import HealthCheck, settings


def property_settings(max_examples: int) -> settings:
    """Settings for a property test trying ``max_examples`` generated cases.

    No deadline per case and no "too slow" health check: the machine is shared, and a
    slow case is noise, not a failure. The first failing case is reported alone.
    """
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        report_multiple_bugs=False,
    )
