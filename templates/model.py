"""Sceptre entry point of the model stacks; the template is built by generators/model.py."""

from wm.sceptre import handler


def sceptre_handler(sceptre_user_data):
    return handler(sceptre_user_data)
