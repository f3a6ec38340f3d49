"""The forms of a prescription, of its double-check and of the programmer's readback: the drugs
(the double-check: named for it) with their concentrations, the program (continuous: one dose;
flex: step rows, each the weekdays it is for, its start and its dose, as many as the pump's steps
a day on each weekday take) and the PTM settings, typed with their units and parsed by
painpump.core.prescription, so the page refuses what the API and the command line refuse. A
refusal names the core's field ("steps[2].start"); `form_field` says which entry of the form
carried it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from django import forms

from painpump.clinic.reads.drug_units import unit_of
from painpump.core import catalog
from painpump.core import prescription as rx
from painpump.core.dose_history import Phase
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import CheckEntries, FluidChangeShown, Readback
from painpump.core.units import Kind, Q
from painpump.web.forms import QuantityField, UnitTextField, help_shown, ordered_in
from painpump.web.views.refill_forms import ADMIXED, VersionedForm, drug_choices

FIRST_ROWS = 13
"""Step rows on a new form, and how many more rows the MORE_ROWS button adds."""
SPARE_ROWS = 4
"""Empty step rows after those of the program a form is changing."""
ROWS = "rows"
"""The hidden entry carrying how many step rows the form shows."""
MORE_ROWS = "more-rows"
"""The action of the button that shows the form again, as entered, with more step rows."""
STEP_ENTRY = re.compile(r"step_(\d+)_(?:days|start|dose)")
KINDS = [
    (rx.ProgramKind.CONTINUOUS.value, "Continuous: one daily dose, every day"),
    (rx.ProgramKind.FLEX.value, "Flex: steps by time of day and weekday"),
    (rx.ProgramKind.SINGLE_BOLUS.value, "Single bolus: one dose over a duration, then stopped"),
    (
        rx.ProgramKind.STOPPED.value,
        "Stopped pump: gives nothing until another program; the drug stays in the reservoir",
    ),
]
DAY_CHOICES = [("", "—"), *((name, name) for name in rx.WEEKDAY_SETS)]
PHASES = [
    ("", "As the rules set it (titration; maintenance at a refill of the same drug)"),
    (Phase.TITRATION.value, "Titration (the label's titration steps)"),
    (Phase.MAINTENANCE.value, "Maintenance (the label's steps at refills)"),
]
PHASE_HELP = (
    "Left to the rules: titration, the stricter, in the review and when programmed between "
    "refills; at a refill, maintenance for the same drug, titration for a first fill or a new drug"
)
"""What core.refill_decision.next_phase does with a prescription that gives no phase."""
STEP_FIELD = re.compile(r"steps\[(\d+)\]\.(days|start|dose)")
DAY_STEP = re.compile(r"program\.days\.(\w+)\[(\d+)\]\.(start|dose)")
WHOLE_DAY = re.compile(r"program\.days\.(mon|tue|wed|thu|fri|sat|sun)")
PTM_FIELDS = {
    "ptm": "ptm_dose",
    "ptm.dose": "ptm_dose",
    "ptm.duration": "ptm_duration",
    "ptm.lockout": "ptm_lockout",
    "ptm.max_per_day": "ptm_max_per_day",
}
DRUG_FIELDS = {
    "drugs": "drug",
    "drugs[0]": "concentration",
    "drugs[0].concentration": "concentration",
    "drugs[1]": "concentration_2",
    "drugs[1].concentration": "concentration_2",
    "drugs[2]": "concentration_3",
    "drugs[2].concentration": "concentration_3",
    "program.kind": "kind",
    "program.bolus": "bolus_dose",
    "program.bolus.dose": "bolus_dose",
    "program.bolus.duration": "bolus_duration",
}


@cache
def steps_a_day() -> catalog.SourcedNumber:
    """The most steps a day any pump in the catalog takes, with its source."""
    return max(
        (pump.flex_steps_per_day for pump in catalog.pumps().values()),
        key=lambda steps: steps.value,
    )


def max_rows() -> int:
    """The most step rows a form takes: a row for each step of each weekday."""
    return 7 * int(steps_a_day().value)


def _rows_entered(entries: Mapping[str, Any]) -> int:
    """One past the last step row with an entry (0: none); a row number of more than four
    digits counts as row 10 000 (refused, never converted)."""
    places = [
        int(digits) if len(digits := found.group(1)) <= 4 else 9_999
        for name in entries
        if (found := STEP_ENTRY.fullmatch(name)) and entries.get(name)
    ]
    return max(places, default=-1) + 1


def _rows_asked(entries: Mapping[str, Any]) -> int:
    text = str(entries.get(ROWS) or "")
    if not (text.isascii() and text.isdigit()):
        return 0
    return max_rows() if len(text) > 3 else int(text)


def rows_shown(entries: Mapping[str, Any]) -> int:
    """How many step rows a form with these entries (posted, or a new form's initial values)
    shows: the rows asked for and every row entered, at least FIRST_ROWS, at most max_rows."""
    wanted = max(FIRST_ROWS, _rows_asked(entries), _rows_entered(entries))
    return min(wanted, max_rows())


def more_rows(posted: Mapping[str, Any]) -> dict[str, Any]:
    """The initial values of the form shown again as posted, nothing judged, with FIRST_ROWS
    more step rows (at most max_rows)."""
    left_out = ("csrfmiddlewaretoken", "action", "reviewed")
    entries = {name: posted.get(name) for name in posted if name not in left_out}
    entries[ROWS] = min(rows_shown(posted) + FIRST_ROWS, max_rows())
    return entries


def _suffix(n: int) -> str:
    return "" if n == 1 else f"_{n}"


class DrugsMixin(forms.Form):
    """Up to three drugs, the principal first, each with its concentration."""

    drug = forms.ChoiceField(label="Drug", choices=drug_choices)
    concentration = QuantityField(Kind.CONCENTRATION, label="Concentration", positive=True)
    drug_2 = forms.ChoiceField(
        label="Second drug (admixture)", choices=lambda: drug_choices("None"), required=False
    )
    concentration_2 = QuantityField(
        Kind.CONCENTRATION, label="Concentration of the second drug", required=False, positive=True
    )
    drug_3 = forms.ChoiceField(
        label="Third drug (admixture)", choices=lambda: drug_choices("None"), required=False
    )
    concentration_3 = QuantityField(
        Kind.CONCENTRATION, label="Concentration of the third drug", required=False, positive=True
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        for n in ADMIXED:
            drug, conc = data.get(f"drug_{n}"), data.get(f"concentration_{n}")
            if drug and conc is None and f"concentration_{n}" not in self.errors:
                self.add_error(f"concentration_{n}", f"the concentration of {drug} is required")
            if conc is not None and not drug:
                self.add_error(f"drug_{n}", "choose the drug this concentration is of")
        return data

    def chosen(self) -> list[str]:
        """The drugs chosen so far (or offered), the principal first ("" where none)."""
        return [str(self[f"drug{_suffix(n)}"].value() or "") for n in (1, *ADMIXED)]

    def drugs(self) -> tuple[tuple[str, Q], ...]:
        data = self.cleaned_data
        return tuple(
            (data[f"drug{_suffix(n)}"], data[f"concentration{_suffix(n)}"])
            for n in (1, *ADMIXED)
            if data.get(f"drug{_suffix(n)}") and data.get(f"concentration{_suffix(n)}")
        )


class ProgramMixin(forms.Form):
    """The program and the PTM settings. The step rows and the PTM entries are parsed by core
    (`program`, `ptm`), which refuses with the row and entry it names."""

    kind = forms.ChoiceField(label="Program", choices=KINDS, initial="continuous")
    dose = QuantityField(
        Kind.DOSE_RATE, label="Daily dose of the first drug (continuous)", required=False
    )
    bolus_dose = UnitTextField(
        label="Single bolus dose of the first drug",
        required=False,
        max_length=60,
        help_text="e.g. 100 mcg; the pump stops after it",
    )
    bolus_duration = UnitTextField(
        label="Duration of the single bolus", required=False, max_length=60, help_text="e.g. 1 hour"
    )
    ptm_dose = UnitTextField(label="Patient bolus dose", required=False, max_length=60)
    ptm_duration = UnitTextField(label="Bolus duration", required=False, max_length=60)
    ptm_lockout = UnitTextField(label="Lockout", required=False, max_length=60)
    ptm_max_per_day = UnitTextField(label="Boluses a day at most", required=False, max_length=5)
    step_dose_help = "with unit, e.g. 2.4 mcg/day"
    """The step rows' dose header (`doses_in`: the unit of the drug ordered)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        entries = self.data if self.is_bound else self.initial
        self.row_count = rows_shown(entries)
        self.rows_sent = _rows_entered(entries)
        for i in range(self.row_count):
            row = f"Step {i + 1}"
            self.fields[f"step_{i}_days"] = forms.ChoiceField(
                label=f"{row}: days", choices=DAY_CHOICES, required=False
            )
            self.fields[f"step_{i}_start"] = UnitTextField(
                label=f"{row}: start (HH:MM)", required=False, max_length=5
            )
            self.fields[f"step_{i}_dose"] = UnitTextField(
                label=f"{row}: dose", required=False, max_length=60
            )
        self.fields["ptm_dose"].help_text = "e.g. 50 mcg; leave the four PTM entries empty for none"
        self.fields["ptm_duration"].help_text = "e.g. 2 min"
        self.fields["ptm_lockout"].help_text = "e.g. 3 hour"
        self.fields["ptm_max_per_day"].help_text = "a whole number, e.g. 4"

    def doses_in(self, drug: str) -> None:
        """The dose entries' help in the unit `drug` (the principal) is ordered in, on a page
        whose prescription gives it."""
        unit = unit_of(drug, Kind.DOSE_RATE)
        if unit is None:
            return
        ordered_in(self.fields["dose"], drug, Kind.DOSE_RATE)
        ordered_in(self.fields["bolus_dose"], drug, Kind.MASS)
        ordered_in(self.fields["ptm_dose"], drug, Kind.MASS)
        self.fields["bolus_dose"].help_text += "; the pump stops after it"
        self.fields["ptm_dose"].help_text += "; leave the four PTM entries empty for none"
        self.step_dose_help = f"with unit: {unit}, as {drug} is ordered"
        help_shown(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        if self.rows_sent > max_rows():
            steps = steps_a_day()
            refusal = Refusal(
                "steps",
                f"{self.rows_sent} rows",
                f"at most {max_rows()}: {steps.value} steps a day on each weekday "
                "(hard: the device's range)",
                steps.source,
                "exceeds the pump's rate changes",
            )
            self.add_error(None, refusal.message)
        return data

    @property
    def more_rows_offered(self) -> bool:
        return self.row_count < max_rows()

    @property
    def rows_added(self) -> bool:
        """More step rows than a new form's: the flex steps are shown open."""
        return self.row_count > FIRST_ROWS

    @property
    def most_rows(self) -> int:
        return max_rows()

    @property
    def rows_limit(self) -> str:
        """Why the form takes at most `most_rows` rows."""
        return f"{steps_a_day().value} steps a day on each weekday"

    def step_rows(self) -> list[tuple[int, forms.BoundField, forms.BoundField, forms.BoundField]]:
        """Each row's number and its days, start and dose entries (for the template)."""
        return [
            (i + 1, self[f"step_{i}_days"], self[f"step_{i}_start"], self[f"step_{i}_dose"])
            for i in range(self.row_count)
        ]

    def _rows(self) -> list[tuple[int, rx.StepRow]]:
        """The flex rows entered (an empty row is skipped), with their place on the form."""
        data = self.cleaned_data
        rows = []
        for i in range(self.row_count):
            days, start, dose = (data.get(f"step_{i}_{p}") or "" for p in ("days", "start", "dose"))
            if days or start or dose:
                rows.append((i, rx.step_row(days, start, dose, f"steps[{i}]")))
        return rows

    def program(self) -> rx.PrescribedProgram:
        """The program entered; a Refusal names the entry (core's field names)."""
        data = self.cleaned_data
        if data.get("kind") == rx.ProgramKind.SINGLE_BOLUS.value:
            bolus = rx.single_bolus(data.get("bolus_dose") or "", data.get("bolus_duration") or "")
            return rx.PrescribedProgram.single_bolus(bolus)
        if data.get("kind") == rx.ProgramKind.STOPPED.value:
            return rx.PrescribedProgram.stopped()
        if data.get("kind") == rx.ProgramKind.FLEX.value:
            rows = self._rows()
            if not rows:
                raise Refusal(
                    "steps[0].days",
                    "no steps",
                    "at least one step from 00:00",
                    rx.RULES,
                    "is empty",
                )
            try:
                return rx.flex_program([row for _, row in rows])
            except Refusal as refusal:
                raise _on_form_row(refusal, [i for i, _ in rows]) from None
        dose = data.get("dose")
        if dose is None:
            raise Refusal(
                "dose", "empty", "the daily dose of a continuous program", rx.RULES, "is required"
            )
        return rx.PrescribedProgram.continuous(dose)

    def ptm(self) -> rx.PatientBolus | None:
        data = self.cleaned_data
        names = ("ptm_dose", "ptm_duration", "ptm_lockout", "ptm_max_per_day")
        given = [data.get(name) or "" for name in names]
        if not any(given):
            return None
        return rx.patient_bolus(*given)

    def form_field(self, field: str) -> str:
        """The form's entry that carried the value a refusal names (core's field name), or the
        name itself when the form has none."""
        if field in PTM_FIELDS:
            return PTM_FIELDS[field]
        if field in DRUG_FIELDS:
            return DRUG_FIELDS[field]
        step = STEP_FIELD.fullmatch(field)
        if step:
            return f"step_{step.group(1)}_{step.group(2)}"
        day = DAY_STEP.fullmatch(field)
        if day:
            if self.cleaned_data.get("kind") != rx.ProgramKind.FLEX.value:
                return "dose"
            return self._row_of(day.group(1), int(day.group(2)), day.group(3))
        flex = self.cleaned_data.get("kind") == rx.ProgramKind.FLEX.value
        if flex and field in ("dose", "program.highest_step"):
            return self._highest_row()
        whole_day = WHOLE_DAY.fullmatch(field)
        if flex and whole_day:  # a day's steps (too many): the row of its last step
            return self._row_of(whole_day.group(1), -1, "days")
        if field == "dose" and self.cleaned_data.get("kind") == rx.ProgramKind.SINGLE_BOLUS.value:
            return "bolus_dose"
        if field.startswith(("program.days", "program.highest_step")):
            return "kind"
        return field

    def _highest_row(self) -> str:
        """The dose entry of the row with the highest dose (what a flex day's dose checks
        judge)."""
        rows = self._rows()
        if not rows:
            return "kind"
        place, _ = max(rows, key=lambda pair: pair[1].dose.canonical)
        return f"step_{place}_dose"

    def _row_of(self, weekday: str, index: int, part: str) -> str:
        """The form row giving the `index`th step (by start) of `weekday`."""
        number = rx.WEEKDAYS.index(weekday) if weekday in rx.WEEKDAYS else -1
        mine = sorted(
            ((i, row) for i, row in self._rows() if number in row.weekdays),
            key=lambda pair: pair[1].start_s,
        )
        return f"step_{mine[index][0]}_{part}" if -len(mine) <= index < len(mine) else "kind"


def _on_form_row(refusal: Refusal, places: list[int]) -> Refusal:
    """A refusal of flex_program names a row by its place among the rows entered: named here by
    its place on the form."""
    found = STEP_FIELD.fullmatch(refusal.field)
    if not found:
        return refusal
    place = places[int(found.group(1))]
    return Refusal(
        f"steps[{place}].{found.group(2)}",
        refusal.value,
        refusal.limit,
        refusal.source,
        refusal.problem,
    )


FLUID_CHANGES = [
    (rx.FluidChange.NONE.value, "Nothing: the old fluid runs at the new program's rate"),
    (rx.FluidChange.BRIDGE.value, "Bridge: the same drug's dose kept at its old concentration"),
    (rx.FluidChange.PRIMING.value, "Priming bolus: the path pushed at the pump's highest rate"),
]


def fluid_change_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="When this fluid replaces the one in the pump",
        choices=FLUID_CHANGES,
        initial=rx.FluidChange.NONE.value,
        required=False,
        help_text="What the pump tubing and catheter still hold reaches the patient: a change of "
        "the principal drug's concentration needs a bridge or a priming bolus",
    )


class PrescriptionForm(DrugsMixin, ProgramMixin, VersionedForm):
    submission = forms.CharField(widget=forms.HiddenInput, max_length=80, required=False)
    phase = forms.ChoiceField(label="Phase", choices=PHASES, required=False, help_text=PHASE_HELP)
    fluid_change = fluid_change_field()
    reason = forms.CharField(
        label="Reason for this prescription",
        max_length=500,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Why the therapy is set or changed so: printed with the prescription",
    )

    def prescription(self) -> rx.Prescription:
        """The prescription entered; a Refusal names the entry (see form_field)."""
        phase = self.cleaned_data.get("phase")
        return rx.Prescription(
            self.drugs(),
            self.program(),
            self.ptm(),
            Phase(phase) if phase else None,
            rx.FluidChange(self.cleaned_data.get("fluid_change") or rx.FluidChange.NONE),
        )


class CheckForm(ProgramMixin, forms.Form):
    """The second clinician's entries, typed from the syringe label and the order with the
    prescribed numbers out of view: each drug's concentration (the drugs named), the program
    (continuous: its dose; flex: every step row) and the PTM settings (empty: off). A rejection
    (`rejecting`) takes the comment alone: its entries are optional, and whole when given."""

    submission = forms.CharField(widget=forms.HiddenInput, max_length=80, required=False)
    fluid_change = fluid_change_field()
    comment = forms.CharField(
        label="Comment (required to reject)",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="what is wrong, for the prescriber: a rejection needs the comment alone (the "
        "entries above may stay empty)",
    )

    def __init__(
        self, *args: Any, drugs: tuple[str, ...], rejecting: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.drug_names = drugs
        self.rejecting = rejecting
        for i, name in enumerate(drugs):
            self.fields[f"concentration_{i}"] = QuantityField(
                Kind.CONCENTRATION,
                label=f"Concentration of {name} (from the syringe label)",
                positive=True,
                required=not rejecting,
            )
            ordered_in(self.fields[f"concentration_{i}"], name, Kind.CONCENTRATION)
        if drugs:
            self.doses_in(drugs[0])

    def concentration_fields(self) -> list[forms.BoundField]:
        return [self[f"concentration_{i}"] for i in range(len(self.drug_names))]

    def typed(self) -> bool:
        """Whether any entry of the order was typed (the program's kind and the fluid change,
        chosen from lists, are no entries)."""
        left_out = ("kind", "fluid_change", "comment", "submission", ROWS)
        return any(
            self.cleaned_data.get(name) not in (None, "")
            for name in self.fields
            if name not in left_out
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        if self.rejecting and self.typed():
            for i, name in enumerate(self.drug_names):
                entry = f"concentration_{i}"
                if data.get(entry) is None and entry not in self.errors:
                    self.add_error(
                        entry,
                        f"the concentration of {name} is required with the other entries "
                        "(or leave every entry empty to reject with the comment only)",
                    )
        return data

    def entries(self) -> CheckEntries | None:
        """The entries (None: a rejection with none typed); a Refusal names the entry (see
        form_field)."""
        if self.rejecting and not self.typed():
            return None
        concentrations = tuple(
            (name, self.cleaned_data[f"concentration_{i}"])
            for i, name in enumerate(self.drug_names)
        )
        change = rx.FluidChange(self.cleaned_data.get("fluid_change") or rx.FluidChange.NONE)
        return CheckEntries(concentrations, self.program(), self.ptm(), change)

    def form_field(self, field: str) -> str:
        """The entry a refusal of the double-check names ("concentrations.baclofen"); a flex
        day that differs ("program.days.mon") is named above the form, by its day."""
        if field.startswith("concentrations."):
            name = field.removeprefix("concentrations.")
            if name in self.drug_names:
                return f"concentration_{self.drug_names.index(name)}"
        if WHOLE_DAY.fullmatch(field):
            return field if self.cleaned_data.get("kind") == rx.ProgramKind.FLEX.value else "dose"
        return super().form_field(field)


FLUID_CHANGE_FIELDS = {
    "fluid_change": "fluid_change_volume",
    "fluid_change.volume": "fluid_change_volume",
    "fluid_change.rate": "fluid_change_rate",
}


class ReadbackForm(DrugsMixin, ProgramMixin, forms.Form):
    """What the clinician programmer shows after programming, typed as it shows it; after a
    refill that ran a bridge or a priming bolus (`asked`), what it shows of that too (left
    empty: none shown)."""

    submission = forms.CharField(widget=forms.HiddenInput, max_length=80, required=False)
    reservoir = QuantityField(Kind.VOLUME, label="Reservoir volume", positive=True)

    def __init__(self, *args: Any, asked: rx.FluidChange | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked = asked
        if asked is None:
            return
        name = "Bridge" if asked is rx.FluidChange.BRIDGE else "Priming bolus"
        self.fields["fluid_change_volume"] = QuantityField(
            Kind.VOLUME,
            label=f"{name} volume",
            required=False,
            positive=True,
            help_text="as the programmer shows it, e.g. 0.25 mL; empty when it shows none",
        )
        if asked is rx.FluidChange.BRIDGE:
            self.fields["fluid_change_rate"] = QuantityField(
                Kind.VOLUME_RATE,
                label="Bridge rate",
                required=False,
                positive=True,
                help_text="as the programmer shows it, e.g. 0.2 mL/day; empty when it shows none",
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        if self.asked is rx.FluidChange.BRIDGE:
            volume, rate = data.get("fluid_change_volume"), data.get("fluid_change_rate")
            for name, value, other in (
                ("fluid_change_rate", rate, volume),
                ("fluid_change_volume", volume, rate),
            ):
                if value is None and other is not None and name not in self.errors:
                    self.add_error(
                        name, "enter the bridge's volume and rate, or neither if none is shown"
                    )
        return data

    def fluid_change_fields(self) -> list[forms.BoundField]:
        return [
            self[name]
            for name in ("fluid_change_volume", "fluid_change_rate")
            if name in self.fields
        ]

    def readback(self) -> Readback:
        data = self.cleaned_data
        shown = None
        if self.asked is not None and data.get("fluid_change_volume") is not None:
            shown = FluidChangeShown(
                self.asked, data["fluid_change_volume"], data.get("fluid_change_rate")
            )
        return Readback(data["reservoir"], self.drugs(), self.program(), self.ptm(), shown)

    def form_field(self, field: str) -> str:
        if field in FLUID_CHANGE_FIELDS and FLUID_CHANGE_FIELDS[field] in self.fields:
            return FLUID_CHANGE_FIELDS[field]
        return super().form_field(field)
