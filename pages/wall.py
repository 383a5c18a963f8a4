"""Wall view: the headline figures and three charts in large type, for a screen in an office or a
board room. No controls; it redraws itself within a minute of any write (divert.web.wall)."""

from divert.web import access, ui, wall

user = ui.require_role(*access.ALL_ROLES)
wall.show(access.page_spec("pages/wall.py").title, user.role)  # the title is drawn with the figures' as-of line
