"""The testing example's own tests, collected here because pytest looks only under tests/."""

from examples.testing.test_app import *  # noqa: F403
