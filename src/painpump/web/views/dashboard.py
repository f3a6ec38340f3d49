"""The dashboard: the clinic's worklist (clinic.reads.dashboard) as one page, most urgent first;
each list shows a page of rows with the size of the whole list, and the page number moves every list
on together."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from painpump import clock
from painpump.clinic.actions.refill_visits import refresh_passed_proposals
from painpump.clinic.reads.dashboard import worklist
from painpump.web.access import clinic_page, user_of
from painpump.web.navigation import landing

PAGE_ROWS = 50
LAST_PAGE = 200


def _page(request: HttpRequest) -> int:
    """The page asked for (?page=N), 1 for anything that is not a page number in range."""
    text = request.GET.get("page", "1")
    number = int(text) if text.isdigit() else 1
    return min(max(number, 1), LAST_PAGE)


@clinic_page
def dashboard(request: HttpRequest) -> HttpResponse:
    if elsewhere := landing(request):  # an admin lands on the first page their role opens
        return redirect(elsewhere)
    page = _page(request)
    offset = (page - 1) * PAGE_ROWS
    now = clock.now()
    refresh_passed_proposals(
        user_of(request), now
    )  # a proposal whose slot has passed moves before it is listed
    board = worklist(user_of(request), now, offset=offset, limit=PAGE_ROWS)
    totals = board.totals
    largest = max(
        totals.overdue,
        totals.due_today,
        totals.due_week,
        totals.at_risk,
        totals.test_phases,
        totals.awaiting_implant,
        totals.nearing_replacement,
        totals.unverified,
        totals.awaiting_check,
        totals.open_alarms,
        totals.open_incidents,
        totals.stopped,
        totals.awaiting_readback,
        totals.rejected,
    )
    context = {
        "board": board,
        "board_now": now,
        "page": page,
        "first_row": offset + 1,
        "previous_page": page - 1 if page > 1 else None,
        "next_page": page + 1 if offset + PAGE_ROWS < largest and page < LAST_PAGE else None,
    }
    return render(request, "web/dashboard.html", context)
