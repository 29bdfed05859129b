from django.contrib import admin
from django.urls import include, path

from approvals.staff_api import register as register_credit_queues
from common.staffapi.urls import staff_api_urls
from credit_manager.api import api

admin.site.site_header = "Credit platform · credit"
admin.site.site_title = "credit_manager"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("staff/api/v1/", include(staff_api_urls(register_credit_queues))),
]

# JSON errors for every URL under /api/, the API's own or not (the admin keeps Django's pages).
handler400 = "common.api.bad_request_handler"
handler404 = "common.api.not_found_handler"
handler500 = "common.api.server_error_handler"
