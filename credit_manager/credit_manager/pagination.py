"""The one pagination of the API: limit/offset, bounded (an unbounded offset overflows Postgres's bigint)."""

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

MAX_PAGE = 100


class Pagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(MAX_PAGE, ge=1, le=MAX_PAGE)
        offset: int = Field(0, ge=0, le=1_000_000_000)

    def __init__(self, **kwargs) -> None:
        super().__init__(max_limit=MAX_PAGE, **kwargs)
