"""Operators issue and revoke keys here. A new key is shown once, in the answer to its form: never in a
message (messages travel in a cookie), a log or the admin's history."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import escape

from common.admin import page_template
from common.apikeys.models import ApiKey
from common.apikeys.services import check_expiry, issue_api_key, revoke_api_key
from common.errors import DomainError

# Written here rather than as a template file: the common package ships Python files only. The key is put
# in after rendering: it never enters a template context, which Django logs when a variable lookup fails.
_ISSUED_PAGE = """{% extends "admin/base_site.html" %}
{% block content %}
<p>The key of <strong>{{ name }}</strong> is shown only now: copy it, it cannot be shown again.</p>
<p><code>NEW_API_KEY</code></p>
<p><a href="{{ changelist_url }}">Back to the API keys</a></p>
{% endblock %}"""


class IssueApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=(), widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ("name", "expires_at")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(s, s) for s in settings.API_SCOPES]

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        try:
            check_expiry(expires_at)
        except DomainError as exc:
            raise forms.ValidationError(exc.detail) from exc
        return expires_at


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "scopes", "created_at", "created_by", "expires_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "prefix")
    actions = ["revoke"]
    readonly_fields = ("name", "prefix", "scopes", "created_at", "created_by", "expires_at", "last_used_at", "revoked_at")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = IssueApiKeyForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def get_fields(self, request, obj=None):
        return ("name", "scopes", "expires_at") if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        key, raw_key = issue_api_key(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            created_by=request.user,
            expires_at=form.cleaned_data["expires_at"],
        )
        obj.pk = key.pk
        obj.refresh_from_db()
        obj.raw_key = raw_key  # for response_add only; never saved

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue=None) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "API key issued",
            "name": obj.name,
            "changelist_url": reverse("admin:apikeys_apikey_changelist"),
        }
        page = page_template(_ISSUED_PAGE).render(context, request)
        response = HttpResponse(page.replace("<code>NEW_API_KEY</code>", f"<code>{escape(obj.raw_key)}</code>"))
        add_never_cache_headers(response)
        return response

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request, queryset) -> None:
        told_everywhere = [revoke_api_key(key=key) for key in queryset]
        self.message_user(request, f"Revoked {len(told_everywhere)} key(s).")
        if not all(told_everywhere):
            self.message_user(
                request,
                "Redis was unavailable: other API processes may accept these keys for up to API_KEY_CACHE_SECONDS more.",
                messages.WARNING,
            )
