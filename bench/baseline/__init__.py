"""The read baseline: user_manager's own gunicorn command and settings, serving one trivial view."""
