"""Review bot (planned: issue "Review bot")."""
