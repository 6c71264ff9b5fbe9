"""Repository miners: raw facts from git (and later GitHub) into the store."""
