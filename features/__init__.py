"""Per-change and team-level features (planned: issue "Labels and features")."""
