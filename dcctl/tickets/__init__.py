"""Request tickets from OPDs rendered into reviewed spec changes (see README.md here).

An OPD asks for a VM, a resize, a VPN office, cameras or a decommission through
a ticket; `dcctl ticket render` turns it into a commit on branch ticket/<nomor>
that a reviewer merges, so every change still goes through Git review.
"""

from dcctl.tickets.errors import Refusal, TicketRefused
from dcctl.tickets.parse import load_ticket
from dcctl.tickets.render import Rendered, render_ticket

__all__ = ["Refusal", "Rendered", "TicketRefused", "load_ticket", "render_ticket"]
