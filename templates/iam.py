"""Sceptre entry point of the iam stacks; the template is built by generators/iam.py."""

from wm.sceptre import handler


def sceptre_handler(sceptre_user_data):
    return handler(sceptre_user_data)
