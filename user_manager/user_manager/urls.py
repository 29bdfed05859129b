from django.contrib import admin
from django.urls import include, path

from common.staffapi.urls import staff_api_urls
from user_manager.api import api

admin.site.site_header = "Credit platform · customers"
admin.site.site_title = "user_manager"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("staff/api/v1/", include(staff_api_urls())),
]

# JSON errors for every URL under /api/, the API's own or not (the admin keeps Django's pages).
handler400 = "common.api.bad_request_handler"
handler404 = "common.api.not_found_handler"
handler500 = "common.api.server_error_handler"
