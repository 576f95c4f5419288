"""The browser pages (HTML shells, the pages' own script and style sheet): log in, the second factor, 2FA
enrolment, connections and creators, accepting an invitation) and the dashboard's pages."""

from onyx_web.pages.dashboard import DashboardPages
from onyx_web.pages.routes import PagesController

route_handlers = [PagesController, DashboardPages]

__all__ = ["route_handlers"]
