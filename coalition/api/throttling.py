from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle


class AnonymousThrottle(AnonRateThrottle):
    """Per client address (X-Forwarded-For only counts behind TRUSTED_PROXY_COUNT proxies)."""

    scope = "anon"


class PrincipalThrottle(SimpleRateThrottle):
    """Per authenticated principal: a user, or a partner system's API key."""

    scope = "principal"

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.throttle_ident}


class LoginThrottle(AnonRateThrottle):
    """Login and refresh attempts per client address, on top of the per-username lockout."""

    scope = "login"
