"""The start page: the caseworker's inbox (placeholder until the inbox lands)."""

from django.shortcuts import render

from ..pages import signed_in


@signed_in
def home(request):
    return render(request, "web/home.html", {"nav": "inbox"})
