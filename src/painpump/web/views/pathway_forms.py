"""The forms of the episode page: one per pathway step, each asking only for the facts its
action takes (core.pathway.episode.FACTS), the stay to plan, the implantation to register, and the
acknowledgement of each warning a step gives (a checkbox and a note, recorded with the step)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from painpump.clinic.reads.catheters import all_approved, approved_for
from painpump.core.baclofen import ScreeningBolus
from painpump.core.catalog import Catheter, catheters, pumps
from painpump.core.clinic_catheters import ApprovedCatheter
from painpump.core.dead_volume import catheter_holds
from painpump.core.decision import Finding, Verdict
from painpump.core.errors import Refusal
from painpump.core.pathway.episode import Facts
from painpump.core.pathway.indications import Outcome, Protocol, Severity
from painpump.core.pathway.stages import Action
from painpump.core.units import Kind, format_decimal, parse
from painpump.web.forms import QuantityField

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
TUMOUR_OVERRIDE = "tumour_pain_test_phase"
SEVERITIES = [(s.value, s.value.replace("_", " ")) for s in Severity]
PROTOCOLS = [
    (Protocol.BOLUS.value, "Bolus doses (e.g. baclofen 50, 75, 100 mcg, 24 h apart)"),
    (Protocol.CONTINUOUS.value, "Continuous infusion through an external pump"),
]


def day_field(label: str, **kwargs: Any) -> forms.DateField:
    return forms.DateField(label=label, widget=DATE, **kwargs)


class AcknowledgingForm(forms.Form):
    """A form whose step may give warnings: each becomes a checkbox to tick (and a note, the
    reason for a tumour-pain test phase) before the step is taken again."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    offered = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, warnings: Sequence[Finding] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.warnings = [w for w in warnings if w.verdict is Verdict.WARN]
        for warning in self.warnings:
            self.fields[f"ack_{warning.rule}"] = forms.BooleanField(
                label="I have read this warning and take the step anyway", required=False
            )
            reason = warning.rule == TUMOUR_OVERRIDE
            self.fields[f"note_{warning.rule}"] = forms.CharField(
                label="Reason for the test phase (recorded)" if reason else "Note (recorded)",
                required=False,
                max_length=500,
            )
        if self.warnings:
            self.initial["offered"] = ",".join(w.rule for w in self.warnings)

    @property
    def fact_fields(self) -> list[forms.BoundField]:
        """The visible fields but the acknowledgements (shown with their warnings)."""
        return [f for f in self.visible_fields() if not f.name.startswith(("ack_", "note_"))]

    @property
    def acknowledgement_rows(self) -> list[tuple[Finding, forms.BoundField, forms.BoundField]]:
        return [(w, self[f"ack_{w.rule}"], self[f"note_{w.rule}"]) for w in self.warnings]

    def acknowledgements(self) -> dict[str, str] | None:
        """rule -> note for every warning ticked; None (with the errors next to the boxes) while a
        warning is not acknowledged. Warnings shown for the first time carry no error."""
        offered = set(filter(None, str(self.data.get(self.add_prefix("offered"), "")).split(",")))
        acks: dict[str, str] = {}
        for warning in self.warnings:
            ticked = self.cleaned_data.get(f"ack_{warning.rule}")
            note = str(self.cleaned_data.get(f"note_{warning.rule}") or "").strip()
            if not ticked:
                if warning.rule in offered:
                    self.add_error(
                        f"ack_{warning.rule}", "Tick the box to acknowledge this warning."
                    )
                continue
            if warning.rule == TUMOUR_OVERRIDE and not note:
                self.add_error(
                    f"note_{warning.rule}", "A tumour-pain test phase needs the reason recorded."
                )
                continue
            acks[warning.rule] = note or "acknowledged"
        complete = len(acks) == len(self.warnings) and not self.errors
        return acks if complete else None


class StepForm(AcknowledgingForm):
    """A pathway step: `facts()` gives core.pathway's facts for its action."""

    action: Action

    def facts(self) -> Facts:
        return {"on": self.cleaned_data["on"]}


class StartTestPhaseForm(StepForm):
    action = Action.START_TEST_PHASE
    on = day_field("Admitted for the test phase on")
    protocol = forms.ChoiceField(label="Protocol", choices=PROTOCOLS, widget=forms.RadioSelect)
    small_patient = forms.BooleanField(
        label="Very small patient (the screening starts at 25 mcg)", required=False
    )
    rehabilitation = forms.BooleanField(label="Continues with rehabilitation", required=False)
    severity = forms.ChoiceField(
        label="Severity of the spasticity (sets the planned length)",
        choices=[("", "not recorded (pain)"), *SEVERITIES],
        required=False,
    )

    def facts(self) -> Facts:
        facts: Facts = {
            "on": self.cleaned_data["on"],
            "protocol": self.cleaned_data["protocol"],
            "small_patient": self.cleaned_data["small_patient"],
            "rehabilitation": self.cleaned_data["rehabilitation"],
        }
        if self.cleaned_data["severity"]:
            facts["severity"] = self.cleaned_data["severity"]
        return facts


class ScreeningBolusForm(StepForm):
    action = Action.RECORD_SCREENING_BOLUS
    dose = QuantityField(Kind.MASS, positive=True, label="Bolus dose")
    given_at = forms.DateTimeField(
        label="Given at", widget=DATETIME, input_formats=DATETIME_FORMATS
    )
    response = forms.ChoiceField(
        label="Clinical response",
        choices=[("positive", "Positive response"), ("none", "No response")],
        widget=forms.RadioSelect,
    )

    def facts(self) -> Facts:
        bolus = ScreeningBolus(
            self.cleaned_data["dose"],
            positive=self.cleaned_data["response"] == "positive",
            given_at=self.cleaned_data["given_at"],
        )
        return {"bolus": bolus}


class DecideForm(StepForm):
    action = Action.DECIDE_TEST_PHASE
    on = day_field("Test phase ended (discharge) on")
    outcome = forms.ChoiceField(
        label="Decision",
        choices=[
            (Outcome.RESPONDER.value, "Responder: plan the implantation"),
            (Outcome.NON_RESPONDER.value, "Non-responder: remove the catheter, close"),
        ],
        widget=forms.RadioSelect,
    )

    def facts(self) -> Facts:
        return {"on": self.cleaned_data["on"], "outcome": self.cleaned_data["outcome"]}


class CloseForm(StepForm):
    action = Action.CLOSE
    on = day_field("Episode closed on")
    reason = forms.CharField(label="Reason for closing", max_length=500)

    def facts(self) -> Facts:
        return {"on": self.cleaned_data["on"], "reason": self.cleaned_data["reason"]}


def dated_step(step: Action, label: str) -> type[StepForm]:
    """The form of a step whose only fact is its day."""

    class DatedStep(StepForm):
        action = step
        on = day_field(label)

    return DatedStep


DATED_STEPS = {
    Action.RECORD_CATHETER_REMOVAL: "Temporary catheter removed on",
    Action.CLOSE_NON_RESPONDER: "Episode closed on",
    Action.DISCHARGE: "Discharged after the implantation on",
    Action.START_REHABILITATION: "Rehabilitation started on",
    Action.START_MAINTENANCE: "Outpatient maintenance from",
    Action.EXPLANT: "Pump explanted on",
}
STEP_FORMS: dict[Action, type[StepForm]] = {
    form.action: form for form in (StartTestPhaseForm, ScreeningBolusForm, DecideForm, CloseForm)
} | {step: dated_step(step, label) for step, label in DATED_STEPS.items()}

TITLES: dict[Action, str] = {
    Action.START_TEST_PHASE: "Start the test phase (admission)",
    Action.RECORD_SCREENING_BOLUS: "Record a screening bolus",
    Action.DECIDE_TEST_PHASE: "Decide: responder or not",
    Action.RECORD_CATHETER_REMOVAL: "Record the catheter removal",
    Action.CLOSE_NON_RESPONDER: "Close the episode (non-responder)",
    Action.IMPLANT: "Register the implantation",
    Action.DISCHARGE: "Record the discharge",
    Action.START_REHABILITATION: "Start rehabilitation",
    Action.START_MAINTENANCE: "Start outpatient maintenance",
    Action.EXPLANT: "Record the explantation",
    Action.CLOSE: "Close the episode",
}


class PlanStayForm(AcknowledgingForm):
    """A hospital stay to come: the test phase's (with its protocol) or the implantation's."""

    admit_on = day_field("Admission on")
    discharge_on = day_field("Discharge planned on")

    def __init__(self, *args: Any, purpose: Action, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.purpose = purpose
        if purpose is Action.START_TEST_PHASE:
            self.fields["protocol"] = forms.ChoiceField(
                label="Protocol", choices=PROTOCOLS, widget=forms.RadioSelect
            )


class ImplantForm(AcknowledgingForm):
    """The implantation as done: the pump and catheter placed, the day, and the stay."""

    pump_model = forms.ChoiceField(label="Pump model")
    pump_serial = forms.CharField(label="Pump serial number", max_length=60)
    catheter_model = forms.CharField(label="Catheter model", max_length=60)
    catheter_length = QuantityField(
        Kind.LENGTH, positive=True, label="Implanted catheter length", help_text="e.g. 60 cm"
    )
    dead_volume = QuantityField(
        Kind.VOLUME,
        positive=True,
        label="Dead volume (pump outlet and catheter)",
        help_text="the drug volume between reservoir and catheter tip, e.g. 0.25 mL",
    )
    alarm_volume = QuantityField(
        Kind.VOLUME,
        positive=True,
        label="Low-reservoir alarm volume",
        required=False,
        help_text="leave empty for the pump's labelled value",
    )
    implanted_on = day_field("Implanted on")
    discharged_on = day_field(
        "Discharged on", required=False, help_text="leave empty while the patient is in hospital"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pump_model"].choices = [  # type: ignore[attr-defined]
            (p.model, p.name) for p in pumps().values() if p.kind != "external"
        ]
        approved = all_approved()
        self.fields["catheter_model"].help_text = (
            f"in the catheter catalog: {', '.join(catheters()) or 'none'}; with the clinic's "
            f"approved figure: {', '.join(a.model for a in approved) or 'none'}; another "
            "model's dead volume is recorded unchecked, with a warning"
        )
        self.fields["dead_volume"].help_text = self._dead_volume_hint(approved)

    def _dead_volume_hint(self, approved: Sequence[ApprovedCatheter]) -> str:
        """The volume the catalog, or else the clinic's approved entry, computes for the
        catheter and length entered (naming whose figure it is), else how each computes it."""
        hint = "the drug volume between reservoir and catheter tip, e.g. 0.25 mL; "
        model = str(self.data.get(self.add_prefix("catheter_model"), ""))
        try:
            length = parse(
                str(self.data.get(self.add_prefix("catheter_length"), "")), Kind.LENGTH, "length"
            )
            held = catheter_holds(model, length, approved_for(model))
        except Refusal:
            held = None
        if held is None:
            return hint + "; ".join(
                [
                    *(
                        f"{c.model}: implanted length x {c.volume_per_cm} mL/cm ({_key(c)})"
                        for c in catheters().values()
                    ),
                    *(
                        f"{a.model}: implanted length x {format_decimal(a.volume_per_cm)} mL/cm "
                        f"(the clinic's figure approved by {a.approved_by}, unverified by "
                        "painpump)"
                        for a in approved
                    ),
                ]
            )
        figure, volume = held
        implanted = length.to("cm")
        whose, why = (
            ("the catalog", figure.source.split(":")[0])
            if figure.clinic is None
            else ("the clinic's approved entry", figure.whose())
        )
        return hint + (
            f"{whose} computes {volume} for {figure.model} at {implanted} "
            f"({implanted} x {figure.per_cm}, {why}), plus the pump's own path volume, which no "
            "source gives"
        )


def _key(catheter: Catheter) -> str:
    """The source key (docs/sources.md) of the catheter's volume per cm."""
    return catheter.volume_per_cm_source.split(":")[0]
