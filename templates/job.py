"""Sceptre's template for the job stack: it builds generators/job.py from the stack's sceptre_user_data."""

from wm.sceptre import template


def sceptre_handler(sceptre_user_data):
    return template("job", sceptre_user_data)
