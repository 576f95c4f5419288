"""The browser pages (HTML shells, the pages' own script and style sheet): log in, the second factor, 2FA
enrolment, connections and creators, accepting an invitation."""

from onyx_web.pages.routes import PagesController

route_handlers = [PagesController]

__all__ = ["route_handlers"]
