"""The dashboard: the clinic's worklist (clinic.dashboard) as one page, most urgent first."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from painpump.clinic.dashboard import worklist
from painpump.web.access import clinic_page, user_of
from painpump.web.navigation import landing


@clinic_page
def dashboard(request: HttpRequest) -> HttpResponse:
    if elsewhere := landing(request):  # an admin lands on the first page their role opens
        return redirect(elsewhere)
    board = worklist(user_of(request), timezone.now())
    today = [row for row in board.refills_due if row.priority.proposal.day <= board.today]
    week = [row for row in board.refills_due if row.priority.proposal.day > board.today]
    context = {"board": board, "due_today": today, "due_week": week}
    return render(request, "web/dashboard.html", context)
