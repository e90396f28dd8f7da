"""URL map: the API under /api/v1; every other path answers the contract's 404."""

from django.urls import path, re_path

from imaging_api.studies.api import api, unknown_path

urlpatterns = [
    path("api/v1/", unknown_path),  # ninja's API root view (docs are off): the contract's 404 instead
    path("api/v1/", api.urls),
    re_path(r"^", unknown_path),
]
