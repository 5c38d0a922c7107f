"""OpenAPI descriptions of the two ways to authenticate."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class CoalitionJWTScheme(OpenApiAuthenticationExtension):
    target_class = "partners.authentication.CoalitionJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Access token from POST /api/v1/auth/token/ (valid 5 minutes).",
        }


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "partners.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Partner systems: `Authorization: Api-Key <key>`.",
        }
