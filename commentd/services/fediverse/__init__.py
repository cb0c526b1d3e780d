"""ActivityPub: the blog as a Fediverse account (``[fediverse]``), in small parts.

- ``signatures``: HTTP Signatures (draft-cavage, as Mastodon signs) and the ``Digest``;
- ``keys``: the account's RSA key pair, kept in the database;
- ``documents``: the JSON documents served (WebFinger, the actor, NodeInfo, posts);
- ``remote``: fetching other servers' actors and objects, bounded and cached;
- ``inbox``: what other servers send (Follow, Create, Update, Delete, Like, Announce, Undo);
- ``delivery``: sending activities to followers' inboxes through the outbox;
- ``publish``: a blog post published to followers, and the blog's own comments as replies.
"""
