"""Form pieces shared by the web app's workflows. A quantity is typed with its unit ("20 mL",
"2000 mcg/mL") and parsed by painpump.core.units, so the page refuses a bare number, an unknown
unit or a decimal comma exactly as the command line and the API do; a service's Refusal is shown
next to the field it names, with its limit and source."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from django import forms
from django.db import transaction

from painpump.clinic.reads import drug_units
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, parse
from painpump.web.refusals import field_label, labels_in

T = TypeVar("T")


class UnitTextField(forms.CharField):
    """A number typed with its unit: a text input that no browser completes or corrects."""

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.update({"inputmode": "text", "autocomplete": "off", "spellcheck": "false"})
        return attrs


class QuantityField(UnitTextField):
    """Text such as "5 mg/day", cleaned into a painpump Q of `kind`."""

    def __init__(self, kind: Kind, *, positive: bool = False, **kwargs: Any) -> None:
        self.kind = kind
        self.positive = positive
        kwargs.setdefault("max_length", 60)
        kwargs.setdefault("help_text", f"a number and its unit, e.g. {kind.examples}")
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Q | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return parse(text, self.kind, str(self.label or "value"), positive=self.positive)
        except Refusal as refusal:
            raise forms.ValidationError(refusal.message) from None


def ordered_in(field: forms.Field, drug: str, kind: Kind) -> None:
    """The entry's help names the unit `drug` is ordered in, on a page whose drugs the
    prescription gives (never an example in the other unit beside them)."""
    unit = drug_units.unit_of(drug, kind)
    if unit is not None:
        field.help_text = f"a number and its unit: {unit}, as {drug} is ordered"


CONCENTRATIONS = ("concentration", "concentration_2", "concentration_3")
"""The concentration entries of a fill or readback form, the principal drug's first."""


def concentrations_in(form: forms.Form, drugs: Sequence[str]) -> None:
    """The concentration entries' help in the units of the prescription's `drugs`."""
    for name, drug in zip(CONCENTRATIONS, drugs, strict=False):
        if drug:
            ordered_in(form.fields[name], drug, Kind.CONCENTRATION)
    help_shown(form)


def help_shown(form: forms.Form) -> None:
    """Each entry shows the help its field gives now. Validating a form makes its entries, each
    keeping the help it was made with: help set after (the unit a drug is ordered in, on a form
    shown again after a refusal or a review) reaches the page only so."""
    for entry in form:
        entry.help_text = entry.field.help_text or ""


def shown_refusal(form: forms.Form, refusal: Refusal, fields: Mapping[str, str] = {}) -> Refusal:
    """The refusal as the page shows it: naming the form field it lands on by that field's label
    ("Concentration", not the service's "drugs[0]", which stays the API's name), else its path
    as the forms label it ("Steps on Monday", web.refusals), and so each path its problem names."""
    name = fields.get(refusal.field, refusal.field)
    if name in form.fields:
        label = str(form.fields[name].label or name)
    else:
        label = field_label(refusal.field)
    return replace(refusal, field=label, problem=labels_in(refusal.problem))


def show_refusal(form: forms.Form, refusal: Refusal, fields: Mapping[str, str] = {}) -> None:
    """Puts a service's refusal on the form: next to the form field it names (directly, or
    through `fields`, which maps service field names to form field names) and worded with that
    field's label, else above the form."""
    name = fields.get(refusal.field, refusal.field)
    message = shown_refusal(form, refusal, fields).message
    form.add_error(name if name in form.fields else None, message)


def attempt(form: forms.Form, change: Callable[[], T], fields: Mapping[str, str] = {}) -> T | None:
    """The service's `change` in a transaction of its own; None when the service refuses, with
    the refusal on the form (see show_refusal) and nothing changed."""
    try:
        with transaction.atomic():
            return change()
    except Refusal as refusal:
        show_refusal(form, refusal, fields)
        return None
