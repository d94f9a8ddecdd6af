"""Alert rules on fresh data, evaluated in the server, announced by signed webhooks (docs/alerts.md)."""
