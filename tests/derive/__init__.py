"""Pure derivation of sessions: scenario tests with hand-computed values."""
