"""Query parameters every list endpoint shares (bounds from torale.pagination)."""

from fastapi import Query

from torale.pagination import ADMIN_DEFAULT_LIMIT, DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE

PageNumber = Query(1, ge=1, le=MAX_PAGE, description="1-based page number")
PageLimit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page")
AdminPageLimit = Query(ADMIN_DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page")
