"""Dashboard accounts: people (not API clients) who log in to the explorer,
the dashboard and the session inspector, and the projects each may see."""
