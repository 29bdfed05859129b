"""Django's PostgreSQL backend, a round trip lighter twice: a kept connection is checked without one while
it is sound, and a transaction's BEGIN travels with its first statement.

Settings name it as the database ``ENGINE`` (``common.settings``); everything else is Django's.
"""
