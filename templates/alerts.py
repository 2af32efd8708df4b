"""Sceptre entry point of the alerts stacks; the template is built by generators/alerts.py."""

from wm.sceptre import handler


def sceptre_handler(sceptre_user_data):
    return handler(sceptre_user_data)
