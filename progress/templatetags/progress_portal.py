"""The portal's discreet prompt, for the schedule page (scheduling's template): loaded with
``{% load progress_portal %}`` so that scheduling imports nothing of progress."""

from django import template

from progress.checkins import due_for_client

register = template.Library()


@register.inclusion_tag("progress/portal/_prompt.html")
def portal_prompt(client):
    """What is due from the client: this week's check-in and any questionnaire. Two queries."""
    return {"due": due_for_client(client)}
