"""Django's PostgreSQL backend with a health check that costs no round trip while a connection is sound.

Settings name it as the database ``ENGINE`` (``common.settings``); everything but the check is Django's.
"""
