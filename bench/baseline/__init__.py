"""The read baseline: user_manager's own API command and settings, serving one trivial view."""
