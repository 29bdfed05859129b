"""Customer endpoints: thin; the rules are in ``users.services``."""


import uuid

from django.http import HttpRequest
from ninja import Router

from common.apikeys.auth import ApiKeyAuth
from users import selectors, services
from users.schemas import CustomerIn, CustomerOut

router = Router(tags=["customers"])


@router.post("", response={201: CustomerOut}, auth=ApiKeyAuth("users:write"))
def create_customer(request: HttpRequest, payload: CustomerIn):
    return 201, services.register_customer(**payload.dict())


@router.get("/{customer_id}", response=CustomerOut, auth=ApiKeyAuth("users:read"))
def get_customer(request: HttpRequest, customer_id: uuid.UUID):
    return selectors.customer_get(customer_id=customer_id)
