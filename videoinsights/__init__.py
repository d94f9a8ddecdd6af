"""videoinsights: a self-hostable Insights server for live video.

Data flows one way: ingest -> store -> derive -> query -> web.
"""

__version__ = "0.1.0"
