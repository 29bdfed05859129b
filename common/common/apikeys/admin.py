from django import forms
from django.conf import settings
from django.contrib import admin, messages

from common.apikeys.models import ApiKey
from common.apikeys.services import issue_api_key, revoke_api_key


class IssueApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=(), widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ("name",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(s, s) for s in settings.API_SCOPES]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Operators issue keys here; the raw key is shown once after saving, then only its prefix."""

    list_display = ("name", "prefix", "scopes", "created_at", "created_by", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "prefix")
    actions = ["revoke"]
    readonly_fields = ("name", "prefix", "scopes", "created_at", "created_by", "revoked_at")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = IssueApiKeyForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def get_fields(self, request, obj=None):
        return ("name", "scopes") if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        key, raw_key = issue_api_key(name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"], created_by=request.user)
        obj.pk = key.pk
        messages.warning(request, f"New API key (shown only now, copy it): {raw_key}")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request, queryset) -> None:
        for key in queryset:
            revoke_api_key(key=key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")
