"""The station: ``prodsheets serve``, a page for the workshop floor.

Staff scan a ticket's QR code (or type an order number), see the order as it is now,
learn whether the paper in their hand is still current, and get the new ticket.

    desk.py       what the station does, without the web: read a scan, open an order,
                  judge the paper (scan.check_now), write the ticket (pipeline.Pipeline)
    app.py        the Flask application factory, and failures turned into pages
    views.py      the routes
    security.py   session cookie, login, CSRF, security headers
    files.py      the one gate for files (no way out of their folders), page previews
    runs.py       the nightly runs under --out, from their manifest.json
    serving.py    waitress, in the foreground (the command) or a thread (the tests)
    templates/station/, static/   the pages, their CSS and JS (no CDN: works offline)
"""

from .app import create_app
from .desk import Desk, Patience

__all__ = ["Desk", "Patience", "create_app"]
