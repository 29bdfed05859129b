"""Customers: the core of user_manager, which imports no other app of the project.

``credit_summary`` is the read model built on it (its rows point at ``Customer``); what the
customer's API and back office show of it they read through the one-to-one reverse relation
``customer.credit_summary``, so the dependency runs one way only: credit_summary → users.
"""
