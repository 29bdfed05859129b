from accounts.api import router as accounts_router
from analysis.api import router as analysis_router
from authorizations.api import router as authorizations_router
from common.api import create_api
from ledger.api import router as ledger_router

api = create_api(
    title="credit_manager API", description="Credit accounts, decisions, limit requests, the ledger and card authorizations."
)
api.add_router("/accounts", accounts_router)
api.add_router("/", analysis_router)
api.add_router("/", ledger_router)
api.add_router("/", authorizations_router)
