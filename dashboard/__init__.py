"""Team trends report and served page (planned: issue "Team quality trends")."""
