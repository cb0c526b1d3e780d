"""What the account's routes serve: each document, built from the database."""

from __future__ import annotations

from typing import Any

from commentd.config import Config
from commentd.errors import BadRequest, NotFound
from commentd.services.fediverse.documents import Account
from commentd.services.fediverse.keys import account_keys
from commentd.services.fediverse.publish import CommentPublisher, Publisher
from commentd.storage.models import Comment, FediversePost, Follower

OFF = "This site has no Fediverse account."


class Documents:
    """The account's public documents; every method raises 404 when the account is off."""

    def __init__(self, config: Config):
        self.config = config
        self.account = Account(config)
        self.publisher = Publisher(config)
        self.comments = CommentPublisher(config)

    def require_on(self) -> Account:
        if not self.config.federates:
            raise NotFound(OFF, code="fediverse_off")
        return self.account

    def webfinger(self, resource: str | None) -> dict[str, Any]:
        account = self.require_on()
        if not resource or not resource.strip():
            raise BadRequest(  # RFC 7033 4.2: a request without a resource is a bad request
                "WebFinger needs a resource, such as acct:name@host.", code="invalid_resource"
            )
        if not account.is_resource(resource):
            raise NotFound(f"No account {str(resource)[:200]!r} here.", code="unknown_resource")
        return account.webfinger()

    def nodeinfo_links(self) -> dict[str, Any]:
        return self.require_on().nodeinfo_links()

    def nodeinfo(self) -> dict[str, Any]:
        return self.require_on().nodeinfo(FediversePost.select().count())

    def actor(self) -> dict[str, Any]:
        return self.require_on().actor_document(account_keys().public_pem)

    def outbox(self) -> dict[str, Any]:
        account = self.require_on()
        items = [
            account.activity(
                "Create",
                account.article(post, context=False),
                f"{account.post_id(post.thread_id)}#create",
                post.published,
            )
            for post in self.publisher.posts()
        ]
        return account.collection(account.outbox, FediversePost.select().count(), items)

    def followers(self) -> dict[str, Any]:
        """The followers' number only: who follows the blog is theirs to tell."""
        account = self.require_on()
        return account.collection(account.followers, Follower.select().count())

    def following(self) -> dict[str, Any]:
        account = self.require_on()
        return account.collection(account.following, 0, [])

    def post(self, thread_id: int) -> dict[str, Any]:
        account = self.require_on()
        post = FediversePost.get_or_none(FediversePost.thread == thread_id)
        if post is None:
            raise NotFound(f"No post {thread_id}.", code="post_not_found")
        return account.article(post)

    def comment(self, comment_id: int) -> dict[str, Any]:
        self.require_on()
        comment = Comment.get_or_none(Comment.id == comment_id)
        note = self.comments.note(comment) if comment is not None else None
        if note is None:
            raise NotFound(f"No published comment {comment_id}.", code="comment_not_found")
        return note
