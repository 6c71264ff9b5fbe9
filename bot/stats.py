"""`teamlens bot stats`: how useful each rule's inline comments were, from 👍/👎 reactions.

After Tricorder (Sadowski et al., CACM 2018): a check whose findings developers mark
"not useful" more than 10 % of the time is noise, and gets fixed or switched off. The
bot's inline comments carry their rule in a hidden marker; the reactions on them are
read back and counted per rule. Only counts come out: never who reacted.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from teamlens.config import Config
from teamlens.mining.backoff import WaitBudget
from teamlens.mining.github import GithubError, connect

FLAG_RATE = 0.10
_RULE_RE = re.compile(r"<!-- teamlens:fp=[0-9a-f]+ rule=([A-Za-z0-9_.-]+) -->")
_REACTIONS_ACCEPT = "application/vnd.github.squirrel-girl-preview+json"


@dataclass(frozen=True)
class RuleStats:
    rule: str
    comments: int
    useful: int  # 👍 reactions
    not_useful: int  # 👎 reactions

    @property
    def not_useful_rate(self) -> float:
        rated = self.useful + self.not_useful
        return self.not_useful / rated if rated else 0.0


def rule_stats(config: Config, repo_name: str | None, pulls: int) -> list[RuleStats]:
    repo_config = (
        config.repository(repo_name)
        if repo_name
        else next((r for r in config.repositories if r.github), None)
    )
    if repo_config is None or repo_config.github is None:
        raise GithubError("no repository in repos.yaml names a GitHub repository (github: o/r)")
    owner, name = repo_config.github.split("/", 1)
    gh, _ = connect(config, WaitBudget(config.github.max_wait_seconds))
    repo = gh.repository(owner, name)
    comments: Counter[str] = Counter()
    up: Counter[str] = Counter()
    down: Counter[str] = Counter()
    for short in repo.pull_requests(state="all", sort="updated", direction="desc", number=pulls):
        pull = repo.pull_request(short.number)
        for comment in pull.review_comments():
            match = _RULE_RE.search(comment.body or "")
            if match is None:
                continue
            rule = match.group(1)
            comments[rule] += 1
            url = comment.as_dict()["url"] + "/reactions"
            response = gh.session.get(url, headers={"Accept": _REACTIONS_ACCEPT})
            response.raise_for_status()
            for reaction in response.json():
                if reaction.get("content") == "+1":
                    up[rule] += 1
                elif reaction.get("content") == "-1":
                    down[rule] += 1
    return [RuleStats(rule, comments[rule], up[rule], down[rule]) for rule in sorted(comments)]
