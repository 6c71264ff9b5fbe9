"""Reactions on issue comments and review comments, and the rollup every comment carries."""

from __future__ import annotations

from typing import Any, cast

from tests.github_server.protocol import _Call, _req, _validation_failed
from tests.github_server.pulls import _Pulls
from tests.github_server.records import (
    _DOCS_REACTIONS,
    REACTIONS,
    Json,
    Reaction,
    ReactionContent,
    ReactionTarget,
    Timestamp,
    _node_id,
    iso,
)


class _Reactions(_Pulls):
    """Reactions: records, lists, the POST handler and the rollup."""

    def _reaction_subject(self, kind: ReactionTarget, comment_id: int) -> str:
        """The repository of the comment a reaction is on; KeyError for an unknown comment."""
        if kind == "issue_comment":
            if comment_id in self._issue_comments:
                return self._issue_comments[comment_id].repo
        elif kind == "review_comment":
            if comment_id in self._comments:
                return self._comments[comment_id].repo
        else:
            raise ValueError(f"kind {kind!r} is not issue_comment or review_comment")
        raise KeyError(f"no {kind} {comment_id}")

    def add_reaction(
        self,
        kind: ReactionTarget,
        comment_id: int,
        *,
        user: str,
        content: ReactionContent,
        created_at: Timestamp | None = None,
    ) -> Reaction:
        """A reaction on an issue comment or a review comment; a user's second reaction with the
        same content is the first one, as on GitHub."""
        with self._lock:
            self._reaction_subject(kind, comment_id)
            self.user(user)
            if content not in REACTIONS:
                raise ValueError(f"content {content!r} is not one of {REACTIONS}")
            for old in self._reactions.values():
                if (old.kind, old.comment_id, old.user, old.content) == (
                    kind,
                    comment_id,
                    user,
                    content,
                ):
                    return old
            reaction = Reaction(
                id=self._next_id("reaction"),
                kind=kind,
                comment_id=comment_id,
                user=user,
                content=content,
                created_at=iso(created_at) if created_at is not None else self.now(),
            )
            self._reactions[reaction.id] = reaction
            return reaction

    def reactions(self, kind: ReactionTarget, comment_id: int) -> list[Reaction]:
        with self._lock:
            return [
                r
                for r in sorted(self._reactions.values(), key=lambda r: r.id)
                if (r.kind, r.comment_id) == (kind, comment_id)
            ]

    def _reactions_page(
        self, kind: ReactionTarget, comment_id: int, pairs: list[tuple[str, str]], link_base: str
    ) -> tuple[list[Any], str | None]:
        content = dict(pairs).get("content")
        if content is not None and content not in REACTIONS:
            raise _validation_failed("Reaction", "content", "invalid", _DOCS_REACTIONS)
        items = [
            self._reaction_json(r)
            for r in self.reactions(kind, comment_id)
            if content in (None, r.content)
        ]
        return self._page(items, pairs, link_base)

    def _post_reaction(
        self, call: _Call, kind: ReactionTarget, comment_id: int, docs: str
    ) -> tuple[int, Any]:
        content = _req(call.data, "content", str, docs)
        if content not in REACTIONS:
            raise _validation_failed(
                "Reaction",
                "content",
                "custom",
                docs,
                message="content is not included in the list",
            )
        before = len(self._reactions)
        reaction = self.add_reaction(
            kind, comment_id, user=call.viewer, content=cast(ReactionContent, content)
        )
        return (201 if len(self._reactions) > before else 200), self._reaction_json(reaction)

    def _drop_reactions(self, kind: ReactionTarget, comment_id: int) -> None:
        for reaction in list(self._reactions.values()):
            if (reaction.kind, reaction.comment_id) == (kind, comment_id):
                del self._reactions[reaction.id]

    def _reaction_rollup(self, url: str, kind: ReactionTarget | None, ident: int) -> Json:
        counts: dict[str, int] = dict.fromkeys(REACTIONS, 0)
        for reaction in self._reactions.values():
            if (reaction.kind, reaction.comment_id) == (kind, ident):
                counts[reaction.content] += 1
        return {"url": url, "total_count": sum(counts.values()), **counts}

    def _reaction_json(self, reaction: Reaction) -> Json:
        return {
            "id": reaction.id,
            "node_id": _node_id("Reaction", reaction.id),
            "user": self._user_json(self.user(reaction.user)),
            "content": reaction.content,
            "created_at": reaction.created_at,
        }
