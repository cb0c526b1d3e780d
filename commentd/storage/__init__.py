"""Persistence: peewee models behind a DatabaseProxy, and forward-only migrations."""
