"""What-if: the current fill and program as a form the user edits (a refill now, or the program
alone; the dose left empty runs the prescription in force); each change (htmx) shows the
projection and the checks of the proposed values. Nothing is saved; each look is an audited read
(clinic.reads.whatif)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from painpump import clock
from painpump.clinic.reads.drug_units import unit_of
from painpump.clinic.reads.whatif import Current, Proposal, WhatIf, current_pump, what_if
from painpump.core.errors import Refusal
from painpump.core.units import INPUT_RULES, Kind, Q, parse
from painpump.web.access import clinic_page, user_of
from painpump.web.chart_series import instant, number, projection_series
from painpump.web.forms import QuantityField, UnitTextField, show_refusal, shown_refusal

MAX_DRUGS = 6
"""At most this many concentration fields are read from a request (an admixture has three)."""


class DoseOrRateField(UnitTextField):
    """A daily dose ("400 mcg/day", "5 mg/day") or a rate ("0.2 mL/day"): the unit says which."""

    def clean(self, value: Any) -> Q | None:
        text = super().clean(value)
        if not text:
            return None
        label = str(self.label or "dose or rate")
        try:
            return parse(text, Kind.DOSE_RATE, label, positive=True)
        except Refusal as as_dose:
            try:
                return parse(text, Kind.VOLUME_RATE, label, positive=True)
            except Refusal:
                if as_dose.problem != f"is not a {Kind.DOSE_RATE.label}":
                    raise forms.ValidationError(as_dose.message) from None
                refusal = Refusal(
                    label,
                    repr(text),
                    "a daily dose such as 400 mcg/day or 5 mg/day, or a rate such as 0.2 mL/day",
                    INPUT_RULES,
                    "is neither a daily dose nor a rate",
                )
                raise forms.ValidationError(refusal.message) from None


class WhatIfForm(forms.Form):
    mode = forms.ChoiceField(
        label="What to try",
        choices=(("refill", "A refill now"), ("program", "A new program only (no refill)")),
        widget=forms.RadioSelect,
        initial="refill",
    )
    dose_or_rate = DoseOrRateField(
        label="Daily dose or rate",
        max_length=60,
        required=False,
        help_text="a number and its unit: a dose (e.g. 400 mcg/day, 5 mg/day) or a rate "
        "(e.g. 0.2 mL/day); empty: as prescribed",
    )
    volume = QuantityField(
        Kind.VOLUME,
        positive=True,
        required=False,
        label="Volume to fill",
        help_text="for a refill, e.g. 20 mL",
    )

    def __init__(self, *args: Any, drugs: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for index in range(drugs):
            self.fields[f"conc_{index}"] = QuantityField(
                Kind.CONCENTRATION,
                positive=True,
                required=False,
                label=f"Concentration of drug {index + 1}",
            )

    def concentration_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("conc_")]

    def name_drugs(self, current: Current) -> None:
        """Labels the concentration fields with the drugs in the pump, and the dose with the
        unit its principal drug is ordered in."""
        unit = unit_of(current.drugs[0][0], Kind.DOSE_RATE) if current.drugs else None
        if unit is not None:
            self.fields["dose_or_rate"].help_text = (
                f"a number and its unit: a dose in {unit}, as {current.drugs[0][0]} is ordered, "
                "or a rate (e.g. 0.2 mL/day); empty: as prescribed"
            )
        as_prescribed = (
            f"as prescribed (#{current.prescription})" if current.prescription else "as running"
        )
        self.fields["dose_or_rate"].widget.attrs["placeholder"] = as_prescribed
        for index, (name, concentration) in enumerate(current.drugs):
            field = self.fields.get(f"conc_{index}")
            if field is not None:
                field.label = f"{name.capitalize()} concentration"
                field.help_text = f"for a refill; now {concentration}"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") == "refill":
            if not data.get("volume") and "volume" not in self.errors:
                self.add_error("volume", "Volume to fill: give the volume for a refill, e.g. 20 mL")
            for bound in self.concentration_fields():
                if not data.get(bound.name) and bound.name not in self.errors:
                    self.add_error(bound.name, f"{bound.label}: give it for a refill")
        return data

    def proposal(self) -> Proposal:
        data = self.cleaned_data
        if data["mode"] != "refill":
            return Proposal(mode="program", dose_or_rate=data.get("dose_or_rate"))
        return Proposal(
            mode="refill",
            dose_or_rate=data.get("dose_or_rate"),
            volume=data.get("volume"),
            concentrations=tuple(data[b.name] for b in self.concentration_fields()),
        )


def _initial(current: Current) -> dict[str, Any]:
    initial: dict[str, Any] = {"mode": "refill", "volume": str(current.fill_volume)}
    for index, (_, concentration) in enumerate(current.drugs):
        initial[f"conc_{index}"] = str(concentration)
    return initial


def _submitted_drugs(request: HttpRequest) -> int:
    return sum(1 for index in range(MAX_DRUGS) if f"conc_{index}" in request.GET)


# Service field names (core and clinic) -> the form field that carried the value.
REFUSAL_FIELDS = {
    "dose": "dose_or_rate",
    "rate": "dose_or_rate",
    **{f"drugs[{i}]": f"conc_{i}" for i in range(MAX_DRUGS)},
}


def _chart_data(current: Current, outcome: WhatIf | None) -> dict[str, Any]:
    proposed = outcome.projection if outcome is not None else None
    return {
        "capacity": number(current.reservoir, "mL"),
        "now": instant(clock.now()),
        "current": projection_series(current.projection),
        "proposed": projection_series(proposed) if proposed is not None else None,
    }


@clinic_page
def what_if_page(request: HttpRequest, implant_id: UUID) -> HttpResponse:
    user = user_of(request)
    now = clock.now()
    outcome: WhatIf | None = None
    stop: Refusal | None = None
    if "dose_or_rate" in request.GET:
        form = WhatIfForm(request.GET, drugs=_submitted_drugs(request))
        if form.is_valid():
            outcome = what_if(user, implant_id, form.proposal(), now)
            current = outcome.current
        else:
            current = current_pump(user, implant_id, now)
    else:
        current = current_pump(user, implant_id, now)
        form = WhatIfForm(initial=_initial(current), drugs=len(current.drugs))
    form.name_drugs(current)
    if outcome is not None and outcome.stop is not None:  # named as the form names its fields
        show_refusal(form, outcome.stop, REFUSAL_FIELDS)
        stop = shown_refusal(form, outcome.stop, REFUSAL_FIELDS)
    context = {
        "current": current,
        "form": form,
        "outcome": outcome,
        "stop": stop,
        # in an attribute, not a json_script block: htmx drops every <script> it swaps in
        "chart_json": json.dumps(_chart_data(current, outcome)),
    }
    template = (
        "web/whatif/swap.html" if request.headers.get("HX-Request") else "web/whatif/page.html"
    )
    return render(request, template, context)
