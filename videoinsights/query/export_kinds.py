"""What can be exported, by name: the CLI's parser reads these without importing the exporter (GraphQL)."""

# Session data kinds (one file each).
SESSION_KINDS = ("sessions", "meetings", "connections", "publishers", "subscribers", "stats")
KINDS = ("projectData", *SESSION_KINDS)
FORMATS = ("csv", "parquet")
FILTERS = ("sdkType", "sdkVersion", "country", "region", "browser", "browserVersion")
