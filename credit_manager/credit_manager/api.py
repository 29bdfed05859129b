from accounts.api import router as accounts_router
from common.api import create_api

api = create_api(title="credit_manager API", description="Credit accounts, decisions, limit requests and the ledger.")
api.add_router("/accounts", accounts_router)
