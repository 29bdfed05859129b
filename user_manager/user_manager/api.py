from common.api import create_api
from users.api import router as users_router

api = create_api(title="user_manager API", description="Customers of the credit platform and their credit summary.")
api.add_router("/users", users_router)
