"""The forms of the refill workflow and of programming the pump: quantities typed with their
units, the implant's version and an idempotency key carried in hidden fields, and the fingerprint
of what was reviewed, so a refill is confirmed only as it was reviewed."""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms

from painpump.clinic.reads.refill_preview import Setting
from painpump.core import catalog
from painpump.core.refill_decision import PTM_COUNTS_SOURCE, Fill, PtmCounts
from painpump.core.units import Kind, Q
from painpump.web.forms import QuantityField

ADMIXED = (2, 3)
"""The second and third drug of an admixture (the first is the principal drug)."""


def drug_choices(blank: str | None = None) -> list[tuple[str, str]]:
    choices = [(name, name) for name in sorted(catalog.drugs())]
    return [("", blank), *choices] if blank is not None else choices


class VersionedForm(forms.Form):
    """The implant's version as the form was shown (a change since then is a conflict)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reviewed = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def fingerprint(self, outcome: Setting | None) -> str:
        """A digest of the entries (not the acknowledgements) and of what they were shown to lead
        to (the rate and the refill-by date), to tell whether what is confirmed is what was
        reviewed."""
        keys = ("reviewed", "idempotency_key", "submission")
        names = sorted(n for n in self.fields if n not in keys)
        text = "\x1f".join(f"{n}={self.cleaned_data.get(n)!s}" for n in names)
        if outcome is not None:
            text += f"\x1frate={outcome.rate!s}\x1frefill_by={outcome.refill_by!s}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def mark_reviewed(self, outcome: Setting | None) -> None:
        """The entries as they are now, and their outcome, are the ones reviewed (the hidden field
        carries them)."""
        entries = {name: self.data.get(name) for name in self.data}  # one value per name
        self.data = {**entries, "reviewed": self.fingerprint(outcome)}


class RefillForm(VersionedForm):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)
    expected = QuantityField(
        Kind.VOLUME,
        label="Expected residual volume (read from the pump's programmer)",
        required=False,
    )
    aspirated = QuantityField(Kind.VOLUME, label="Aspirated volume", required=False)
    drug = forms.ChoiceField(label="Drug (from the syringe label)", choices=drug_choices)
    concentration = QuantityField(
        Kind.CONCENTRATION, label="Concentration (from the syringe label)", positive=True
    )
    drug_2 = forms.ChoiceField(
        label="Second drug (admixture, from the syringe label)",
        choices=lambda: drug_choices("None"),
        required=False,
    )
    concentration_2 = QuantityField(
        Kind.CONCENTRATION,
        label="Concentration of the second drug (from the syringe label)",
        required=False,
        positive=True,
    )
    drug_3 = forms.ChoiceField(
        label="Third drug (admixture, from the syringe label)",
        choices=lambda: drug_choices("None"),
        required=False,
    )
    concentration_3 = QuantityField(
        Kind.CONCENTRATION,
        label="Concentration of the third drug (from the syringe label)",
        required=False,
        positive=True,
    )
    lot = forms.CharField(label="Lot number", max_length=60)
    volume = QuantityField(Kind.VOLUME, label="Volume filled into the reservoir", positive=True)
    ptm_requests = forms.IntegerField(
        label="Patient-bolus requests since the last refill (from the pump)",
        required=False,
        min_value=0,
        max_value=1_000_000,
    )
    ptm_given = forms.IntegerField(
        label="Patient boluses given since the last refill (from the pump)",
        required=False,
        min_value=0,
        max_value=1_000_000,
    )

    def __init__(self, *args: Any, live: str | None = None, partial: bool = False, **kw: Any):
        """`live`: the address that answers a changed entry at once (htmx); `partial`: every
        entry optional, for that answer while the form is being filled in."""
        super().__init__(*args, **kw)
        if partial:
            for field in self.fields.values():
                field.required = False
        if live is not None:
            for names, part in (
                (("expected", "aspirated"), "reconciliation"),
                (("drug", "concentration", "volume"), "program"),
                (("drug_2", "concentration_2", "drug_3", "concentration_3"), "program"),
            ):
                for name in names:
                    self.fields[name].widget.attrs.update(
                        {
                            "hx-post": f"{live}?part={part}",
                            "hx-trigger": "change",
                            "hx-target": f"#live-{part}",
                            "hx-swap": "innerHTML",
                            "hx-sync": "closest form:queue all",
                        }
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
        # the patient-bolus counts come both or neither (one alone is refused next to the other)
        requests, given = data.get("ptm_requests"), data.get("ptm_given")
        if (requests is None) != (given is None):
            missing = "ptm_requests" if requests is None else "ptm_given"
            self.add_error(
                missing,
                f"{missing}: missing is required with the other count; limit: both the requests "
                f"and the boluses given, as the pump reports them (source: {PTM_COUNTS_SOURCE})",
            )
        return data

    def fill(self) -> Fill | None:
        """The fill entered (drugs principal first, volume, lot), or None while incomplete."""
        data = self.cleaned_data
        if not data.get("drug") or data.get("concentration") is None:
            return None
        if data.get("volume") is None:
            return None
        drugs: list[tuple[str, Q]] = [(data["drug"], data["concentration"])]
        for n in ADMIXED:
            if data.get(f"drug_{n}") and data.get(f"concentration_{n}") is not None:
                drugs.append((data[f"drug_{n}"], data[f"concentration_{n}"]))
        return Fill(tuple(drugs), data["volume"], data.get("lot") or "")

    def ptm_counts(self) -> PtmCounts | None:
        """The patient-bolus counts entered (None: none entered)."""
        requests, given = (self.cleaned_data.get(n) for n in ("ptm_requests", "ptm_given"))
        if requests is None or given is None:
            return None
        return PtmCounts(requests, given)

    def refill_fields(self, prescribed: tuple[str, ...]) -> dict[str, str]:
        """Where a service's refusal of the fill is shown: the form field that carried the value
        (a drug that is not the prescription's next to the drug, else next to its
        concentration); `prescribed` names the prescription's drugs in order."""
        fields = {"drugs": "drug"}
        for index, suffix in enumerate(("", "_2", "_3")):
            drug = self.cleaned_data.get(f"drug{suffix}")
            named = index < len(prescribed) and drug == prescribed[index]
            fields[f"drugs[{index}]"] = f"concentration{suffix}" if named else f"drug{suffix}"
            fields[f"drugs[{index}].concentration"] = f"concentration{suffix}"
        return fields


class ProgramForm(VersionedForm):
    """Programming the ready prescription: nothing to type but the reasons of the review."""

    submission = forms.CharField(widget=forms.HiddenInput, max_length=80, required=False)
