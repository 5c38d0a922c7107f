"""Signing in and out, and the person's own preferences (placeholders: the sign-in issue fills them)."""

from django.contrib.auth import logout
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST


def sign_in(request):
    return HttpResponse("sign in")


@require_POST
def sign_out(request):
    logout(request)
    return redirect("web:sign-in")


@require_POST
def language(request):
    return redirect("web:home")
