"""Shared vocabulary of the whole pipeline: events, days, tiers, quality buckets."""
