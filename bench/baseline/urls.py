"""The least a Django view can do behind the API's middleware: the ceiling the API's reads are compared with."""

from django.http import HttpRequest, JsonResponse
from django.urls import path


def trivial(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [path("bench/trivial", trivial)]
