"""The traffic simulator: realistic, deterministic event streams and a load poster.

    from videoinsights.simulate import generate, deliver, write_ndjson, post_events

See docs/simulator.md for the model and its defaults.
"""

from videoinsights.simulate.cli import add_simulate_arguments, run_simulate
from videoinsights.simulate.config import DEFAULT_CONFIG, SimConfig
from videoinsights.simulate.delivery import deliver
from videoinsights.simulate.generator import generate
from videoinsights.simulate.output import read_ndjson, write_ndjson, write_ndjson_to
from videoinsights.simulate.poster import PostStats, post_events

__all__ = [
    "DEFAULT_CONFIG",
    "PostStats",
    "SimConfig",
    "add_simulate_arguments",
    "deliver",
    "generate",
    "post_events",
    "read_ndjson",
    "run_simulate",
    "write_ndjson",
    "write_ndjson_to",
]
