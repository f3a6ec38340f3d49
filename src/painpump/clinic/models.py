"""The clinic's records. Quantities are Decimal fields whose names carry their unit (never floats,
never strings); clinical time (when it happened) is kept apart from recorded time; records are
archived, never deleted; `version` makes concurrent edits conflict instead of overwrite."""

from __future__ import annotations

import uuid
from datetime import time

from django.conf import settings
from django.db import models

from painpump.core.dose_history import Phase
from painpump.core.locale import DateFormat, TimeFormat
from painpump.core.patient_facts import OpioidStatus
from painpump.core.prescription import FluidChange, ProgramKind
from painpump.core.readback_tolerance import DEFAULT as DEFAULT_READBACK_TOLERANCE_ML
from painpump.core.spasticity import Origin
from painpump.core.stay_plan import STAYS


class Indication(models.TextChoices):
    INFANTILE_CEREBRAL_PALSY = "infantile_cerebral_palsy", "Spasticity: infantile cerebral palsy"
    MULTIPLE_SCLEROSIS = "multiple_sclerosis", "Spasticity: multiple sclerosis"
    PARAPLEGIA = "paraplegia", "Spasticity: paraplegia"
    STROKE = "stroke", "Spasticity: stroke"
    TRAUMATIC_BRAIN_INJURY = "traumatic_brain_injury", "Spasticity: traumatic brain injury"
    FAILED_BACK_SURGERY_SYNDROME = "failed_back_surgery_syndrome", "Failed back surgery syndrome"
    TUMOUR_PAIN = "tumour_pain", "Tumour pain"
    POLYNEUROPATHY = "polyneuropathy", "Polyneuropathy"


class Versioned(models.Model):
    """A record edited under optimistic concurrency: every change increments `version`."""

    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Patient(Versioned):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mrn = models.CharField("medical record number", max_length=40, unique=True)
    family_name = models.CharField(max_length=120)
    given_name = models.CharField(max_length=120)
    birth_date = models.DateField()
    archived_at = models.DateTimeField(null=True, blank=True)
    # What the drug labels' dosing depends on (core.patient_facts); None is "not recorded":
    weight_kg = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    opioid_status = models.CharField(
        max_length=10,
        choices=[(s.value, s.value) for s in OpioidStatus],
        default=OpioidStatus.UNKNOWN.value,
    )
    psychosis_history = models.BooleanField(null=True, blank=True)
    life_expectancy_months = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["family_name", "given_name"]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"


class Episode(Versioned):
    """One course of intrathecal therapy, from referral to closure, through the pathway stages."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="episodes")
    indication = models.CharField(max_length=40, choices=Indication.choices)
    stage = models.CharField(max_length=30, default="referred")
    referred_on = models.DateField()
    injury_date = models.DateField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=200, blank=True)
    pathway_state = models.JSONField(default=dict)
    # The origin of spasticity when it differs from the indication's (core.spasticity), with why:
    origin_override = models.CharField(
        max_length=10, blank=True, choices=[(o.value, o.value) for o in Origin]
    )
    origin_override_reason = models.CharField(max_length=300, blank=True)
    # A retried referral (the same form sent twice) returns the episode already opened:
    idempotency_key = models.CharField(max_length=80, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["-referred_on"]
        indexes = [
            # the dashboard's open episodes in a stage (test phase, responder)
            models.Index(
                fields=["stage", "updated_at"],
                condition=models.Q(closed_at__isnull=True),
                name="episode_open_by_stage",
            )
        ]


class Assessment(models.Model):
    """An outcome measurement: pain NRS 0-10, modified Ashworth for a limb, or the oral
    morphine-equivalent daily dose (mg/day)."""

    class Kind(models.TextChoices):
        PAIN_NRS = "pain_nrs", "Pain NRS (0-10)"
        ASHWORTH = "ashworth", "Modified Ashworth scale (0-4)"
        OMED = "omed_mg_per_day", "Oral morphine-equivalent dose (mg/day)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="assessments")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    limb = models.CharField(max_length=30, blank=True)
    value = models.DecimalField(max_digits=10, decimal_places=3)
    taken_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    note = models.CharField(max_length=500, blank=True)
    # A retried recording (the same form sent twice) returns the assessment already recorded:
    idempotency_key = models.CharField(max_length=80, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["taken_at"]


class AuditHead(models.Model):
    """A single row holding the hash of the newest audit entry; writers lock it, so the chain
    never forks under concurrent transactions."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    count = models.PositiveBigIntegerField(default=0)


class AuditEntry(models.Model):
    """One append-only audit record: who, when, what, before and after (values with units), and
    the hash chaining it to the entry before (tamper evidence)."""

    seq = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    patient_id = models.UUIDField(null=True, blank=True, db_index=True)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]

    def save(self, *args: object, **kwargs: object) -> None:
        if self._state.adding is False:
            raise PermissionError("audit entries are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit entries are append-only")


class Implant(Versioned):
    """A definitive pump and catheter in a patient: the device the refills and programs act on."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="implants")
    pump_model = models.CharField(max_length=40)
    pump_serial = models.CharField(max_length=60)
    catheter_model = models.CharField(max_length=60)
    catheter_length_cm = models.DecimalField(max_digits=6, decimal_places=2)
    dead_volume_ml = models.DecimalField(max_digits=12, decimal_places=6)
    alarm_volume_ml = models.DecimalField(max_digits=12, decimal_places=6)
    implanted_on = models.DateField()
    explanted_on = models.DateField(null=True, blank=True)
    # Kept up to date by every refill, for the dashboard's indexed queries:
    alarm_at = models.DateTimeField(null=True, blank=True, db_index=True)
    empty_at = models.DateTimeField(null=True, blank=True)
    refill_by = models.DateField(null=True, blank=True, db_index=True)
    high_risk = models.BooleanField(default=False)
    drug_names = models.CharField(max_length=200, blank=True)  # of the last fill, "+"-joined

    class Meta:
        indexes = [
            # the dashboard: pumps followed by their alarm (its pages and counts) ...
            models.Index(
                fields=["alarm_at", "refill_by"],
                condition=models.Q(
                    explanted_on__isnull=True, refill_by__isnull=False, alarm_at__isnull=False
                ),
                name="implant_followed_by_alarm",
            ),
            # ... and pumps in place by implant date (those nearing replacement)
            models.Index(
                fields=["implanted_on"],
                condition=models.Q(explanted_on__isnull=True),
                name="implant_in_place_by_date",
            ),
        ]


class Prescription(models.Model):
    """A physician's signed prescription for a pump, numbered per pump: the drugs
    (PrescriptionDrug), the program (PrescriptionStep: seven day patterns), the patient-bolus
    settings, the phase and the reason. A high-alert one waits for a second clinician's
    independent double-check before any pump is programmed with it; a change is a new one."""

    class Status(models.TextChoices):
        AWAITING_CHECK = "awaiting_check", "Awaiting the double-check"
        REJECTED = "rejected", "Rejected at the double-check"
        READY = "ready", "Ready to program"
        ACTIVE = "active", "Programmed (in force)"
        SUPERSEDED = "superseded", "Superseded"
        WITHDRAWN = "withdrawn", "Withdrawn before programming"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    implant = models.ForeignKey(Implant, on_delete=models.PROTECT, related_name="prescriptions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices)
    program_kind = models.CharField(
        max_length=12, choices=[(k.value, k.label) for k in ProgramKind]
    )
    # the principal drug's dose on the day that gives most (a continuous program's dose):
    daily_dose_mcg_per_day = models.DecimalField(max_digits=14, decimal_places=6)
    ptm_dose_mcg = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    ptm_duration_s = models.PositiveIntegerField(null=True, blank=True)
    ptm_lockout_s = models.PositiveIntegerField(null=True, blank=True)
    ptm_max_per_day = models.PositiveIntegerField(null=True, blank=True)
    # a single-bolus program's bolus (then the pump stops); its steps give nothing
    bolus_dose_mcg = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    bolus_duration_s = models.PositiveIntegerField(null=True, blank=True)
    # as prescribed; "" leaves it to the occasion: maintenance at a refill of the same drug,
    # titration between refills (core.refill_decision.next_phase)
    phase = models.CharField(max_length=12, choices=[(p.value, p.value) for p in Phase], blank=True)
    # how the old fluid in the pump tubing and catheter is delivered when this prescription's
    # fluid replaces it (core.fluid_change)
    fluid_change = models.CharField(
        max_length=8, choices=[(c.value, c.value) for c in FluidChange], default="none"
    )
    reason = models.CharField(max_length=500)
    high_alert = models.BooleanField()
    prescribed_by = models.CharField(max_length=150)
    prescribed_at = models.DateTimeField()
    supersedes = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="successors"
    )
    warnings = models.JSONField(default=list)
    overrides = models.JSONField(default=list)
    checked_by = models.CharField(max_length=150, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["implant", "number"]
        constraints = [
            models.UniqueConstraint(fields=["implant", "number"], name="prescription_number"),
        ]
        indexes = [
            models.Index(
                fields=["prescribed_at"],
                condition=models.Q(status="awaiting_check"),
                name="prescription_awaiting_check",
            ),
            # the dashboard's stopped pumps: prescriptions in force of a kind that stops them
            # (core.prescription.STOPPING), read by kind
            models.Index(
                fields=["program_kind", "checked_at"],
                condition=models.Q(status="active"),
                name="prescription_active_kind",
            ),
            # the physicians' dashboard: prescriptions rejected at their double-check
            models.Index(
                fields=["prescribed_at"],
                condition=models.Q(status="rejected"),
                name="prescription_rejected",
            ),
        ]


class PrescriptionDrug(models.Model):
    prescription = models.ForeignKey(Prescription, on_delete=models.CASCADE, related_name="drugs")
    position = models.PositiveSmallIntegerField()
    drug = models.CharField(max_length=40)
    concentration_mcg_per_ml = models.DecimalField(max_digits=14, decimal_places=6)

    class Meta:
        ordering = ["position"]


class PrescriptionStep(models.Model):
    """A step of a day pattern: from `start_s` after the clinic's midnight on `weekday` (Monday
    = 0) until the next step, the principal drug at `dose_mcg_per_day`."""

    prescription = models.ForeignKey(Prescription, on_delete=models.CASCADE, related_name="steps")
    weekday = models.PositiveSmallIntegerField()
    start_s = models.PositiveIntegerField()
    dose_mcg_per_day = models.DecimalField(max_digits=14, decimal_places=6)

    class Meta:
        ordering = ["weekday", "start_s"]


class PrescriptionCheck(models.Model):
    """A second clinician's independent double-check: the values they entered from the syringe
    label and the order (as typed, with units), the differences found, accepted or rejected
    with a comment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="checks")
    checked_by = models.CharField(max_length=150)
    checked_at = models.DateTimeField()
    accepted = models.BooleanField()
    comment = models.CharField(max_length=500, blank=True)
    entered = models.JSONField(default=dict)
    mismatches = models.JSONField(default=list)

    class Meta:
        ordering = ["checked_at"]


class Program(models.Model):
    """A prescribed continuous program: the daily dose of the principal drug and the rate that
    delivers it at the concentration in the pump (rate = dose / concentration, from core), and
    the projection it was started with (empty for programs recorded before it was kept)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    implant = models.ForeignKey(Implant, on_delete=models.PROTECT, related_name="programs")
    # the prescription it executes (None for programs recorded before prescriptions were kept)
    prescription = models.ForeignKey(
        Prescription, on_delete=models.PROTECT, null=True, blank=True, related_name="programs"
    )
    dose_mcg_per_day = models.DecimalField(max_digits=14, decimal_places=6)
    rate_ml_per_day = models.DecimalField(max_digits=14, decimal_places=6)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    prescribed_by = models.CharField(max_length=150)
    # who programmed the pump (at a refill, or between refills); empty on programs recorded
    # before it was kept, where prescribed_by holds whoever entered the program
    programmed_by = models.CharField(max_length=150, blank=True)
    alarm_at = models.DateTimeField(null=True, blank=True)
    empty_at = models.DateTimeField(null=True, blank=True)
    refill_by = models.DateField(null=True, blank=True)
    limited_by = models.CharField(max_length=20, blank=True)
    phase = models.CharField(
        max_length=12,
        choices=[(p.value, p.value) for p in Phase],
        default=Phase.MAINTENANCE.value,
    )
    # The soft-limit findings shown when it was prescribed (Finding.as_json) and the overrides
    # given for them ({"rule", "reason"}, Override.as_json):
    warnings = models.JSONField(default=list)
    overrides = models.JSONField(default=list)
    # programmed from a prescription and not yet read back (clinic.actions.readbacks clears it):
    # the dashboard's list of pumps awaiting their readback reads it through a partial index
    awaiting_readback = models.BooleanField(default=False)

    class Meta:
        ordering = ["started_at"]
        indexes = [
            models.Index(
                fields=["started_at"],
                name="program_awaiting_readback",
                condition=models.Q(awaiting_readback=True),
            )
        ]


class Refill(models.Model):
    """One refill: what the pump expected, what was aspirated and what that says, the new fill
    and its projection. A change of drug or concentration, or an acknowledged warning, counts
    only once a second clinician has verified it (four eyes)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    implant = models.ForeignKey(Implant, on_delete=models.PROTECT, related_name="refills")
    idempotency_key = models.CharField(max_length=80)  # the client's, unique per performer
    performed_at = models.DateTimeField()
    performed_by = models.CharField(max_length=150)
    expected_ml = models.DecimalField(max_digits=12, decimal_places=6, null=True)
    aspirated_ml = models.DecimalField(max_digits=12, decimal_places=6, null=True)
    # what the pump's twin expected (rule-pump-twin): least with every allowed patient bolus
    # given, most with none (equal when known); null without a history to run
    twin_least_ml = models.DecimalField(max_digits=12, decimal_places=6, null=True)
    twin_most_ml = models.DecimalField(max_digits=12, decimal_places=6, null=True)
    difference_ml = models.DecimalField(max_digits=12, decimal_places=6, null=True)
    delivery_error_percent = models.DecimalField(max_digits=9, decimal_places=3, null=True)
    finding = models.CharField(max_length=20, blank=True)
    volume_ml = models.DecimalField(max_digits=12, decimal_places=6)
    lot = models.CharField(max_length=60)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="refills")
    bridge_volume_ml = models.DecimalField(max_digits=12, decimal_places=6, null=True)
    bridge_rate_ml_per_day = models.DecimalField(max_digits=14, decimal_places=6, null=True)
    # the priming bolus the executed prescription ran at this fill (core.fluid_change.priming)
    priming_volume_ml = models.DecimalField(max_digits=12, decimal_places=6, null=True)
    priming_duration_s = models.PositiveIntegerField(null=True)
    alarm_at = models.DateTimeField()
    empty_at = models.DateTimeField()
    refill_by = models.DateField()
    limited_by = models.CharField(max_length=20)
    acknowledged = models.JSONField(default=list)
    # The warnings acknowledged at the refill as they were shown (rule, message, limit, source,
    # verified), so a report prints the reason given then, not what today's library would say:
    warnings = models.JSONField(default=list)
    # the patient-bolus counts the pump reported since the last refill (None: none prescribed)
    ptm_requests = models.PositiveIntegerField(null=True, blank=True)
    ptm_given = models.PositiveIntegerField(null=True, blank=True)
    needs_verification = models.BooleanField(default=False)
    verified_by = models.CharField(max_length=150, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["performed_at"]
        indexes = [
            # the dashboard's refills waiting for a second clinician, without reading them all
            models.Index(
                fields=["performed_at"],
                condition=models.Q(needs_verification=True, verified_by=""),
                name="refill_awaiting_verification",
            )
        ]
        constraints = [
            # a key another user sent is another key: never a replay of their refill
            models.UniqueConstraint(
                fields=["performed_by", "idempotency_key"], name="refill_key_per_user"
            )
        ]


class RefillDrug(models.Model):
    """A drug of the fill and its concentration (the first, by position, is the principal)."""

    refill = models.ForeignKey(Refill, on_delete=models.CASCADE, related_name="drugs")
    position = models.PositiveSmallIntegerField()
    drug = models.CharField(max_length=40)
    concentration_mcg_per_ml = models.DecimalField(max_digits=14, decimal_places=6)

    class Meta:
        ordering = ["position"]


class Readback(models.Model):
    """The programmer's readback after a pump was programmed (at a refill or between refills):
    what the nurse read from it, as typed, and every difference from the prescription. A
    difference stops the session and opens an incident."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="readbacks")
    read_by = models.CharField(max_length=150)
    read_at = models.DateTimeField()
    entered = models.JSONField(default=dict)
    mismatches = models.JSONField(default=list)

    class Meta:
        ordering = ["read_at"]

    @property
    def matches(self) -> bool:
        return not self.mismatches


class Incident(models.Model):
    """Something that went wrong in a patient's therapy (a readback that differs from the
    prescription), open on the patient's record until a physician closes it with what was
    done."""

    class Kind(models.TextChoices):
        READBACK_MISMATCH = "readback_mismatch", "Programmer readback differs from prescription"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="incidents")
    implant = models.ForeignKey(Implant, on_delete=models.PROTECT, related_name="incidents")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    readback = models.OneToOneField(
        Readback, on_delete=models.PROTECT, null=True, blank=True, related_name="incident"
    )
    opened_at = models.DateTimeField()
    opened_by = models.CharField(max_length=150)
    summary = models.CharField(max_length=1000)
    details = models.JSONField(default=dict)
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    closed_by = models.CharField(max_length=150, blank=True)
    resolution = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-opened_at"]


class Appointment(models.Model):
    """A day booked for a patient: a refill (due by its refill-by date) or a hospital stay of an
    episode (admission `on`, planned discharge `ends_on`, never before `not_before`)."""

    class Kind(models.TextChoices):
        REFILL = "refill", "Refill"
        ADMISSION = "admission", "Admission"
        FOLLOW_UP = "follow_up", "Follow-up"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    on = models.DateField()
    due_by = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, default="proposed")
    note = models.CharField(max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1)
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, related_name="appointments", null=True, blank=True
    )
    ends_on = models.DateField(null=True, blank=True)
    not_before = models.DateField(null=True, blank=True)
    # When it starts (UTC; `on` is its day in the clinic's zone) and how long it takes:
    starts_at = models.DateTimeField(null=True, blank=True)
    minutes = models.PositiveIntegerField(null=True, blank=True)
    # A refill after its refill-by date: proposed so when no open day remains (urgent), booked
    # so only with the reason kept here.
    overdue = models.BooleanField(default=False)
    late_reason = models.CharField(max_length=300, blank=True)
    # An admission's purpose: the pathway step that begins its stay (core Action value).
    stay = models.CharField(
        max_length=20, blank=True, choices=[(a.value, name) for a, name in STAYS.items()]
    )

    class Meta:
        ordering = ["on", "starts_at"]
        indexes = [
            # a day's refill visits (the clinic's capacity) and the open refills of a patient
            models.Index(
                fields=["kind", "on"],
                condition=models.Q(status__in=("proposed", "booked")),
                name="appointment_open_by_day",
            )
        ]


def default_time_zone() -> str:
    return str(settings.PAINPUMP_TIME_ZONE)


def default_open_weekdays() -> list[int]:
    return [0, 1, 2, 3, 4]


class ClinicSettings(Versioned):
    """The clinic's settings (one row): pathway rules, locale (time zone, holidays, opening days
    and hours, formats), dosing region and readback tolerance. Defaults are the fact sheets'
    values or, where none gives one, painpump's unverified ones; the admin changes them,
    audited."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    implant_wait_days = models.PositiveSmallIntegerField(default=21)
    stay_min_days = models.PositiveSmallIntegerField(default=2)
    stay_max_days = models.PositiveSmallIntegerField(default=3)
    country = models.CharField(max_length=2, default="US")
    subdivision = models.CharField(max_length=10, blank=True)
    dosing_region = models.CharField(max_length=2, default="us")
    refill_margin_days = models.PositiveSmallIntegerField(default=7)
    time_zone = models.CharField(max_length=64, default=default_time_zone)
    open_weekdays = models.JSONField(default=default_open_weekdays)  # Monday = 0
    opens_at = models.TimeField(default=time(8, 0))  # the clinic's wall clock
    closes_at = models.TimeField(default=time(17, 0))
    date_format = models.CharField(
        max_length=12, choices=[(f.value, f.label) for f in DateFormat], default="iso"
    )
    time_format = models.CharField(
        max_length=4, choices=[(f.value, f.label) for f in TimeFormat], default="24h"
    )
    refill_visit_minutes = models.PositiveSmallIntegerField(default=30)
    refill_capacity_per_day = models.PositiveSmallIntegerField(default=8)
    # The test phase's planned length per severity of the spasticity (rule-clinic-setting: no
    # source gives these days; the defaults are core's unverified placeholders):
    test_phase_days_moderate = models.PositiveSmallIntegerField(default=3)
    test_phase_days_severe = models.PositiveSmallIntegerField(default=5)
    test_phase_days_very_severe = models.PositiveSmallIntegerField(default=7)
    # How far a programmer's reservoir readback may lie from the volume expected, in mL
    # (rule-clinic-setting, unverified: core.readback_tolerance keeps its rule):
    readback_tolerance_ml = models.DecimalField(
        max_digits=4, decimal_places=3, default=DEFAULT_READBACK_TOLERANCE_ML
    )


class PathwayEvent(models.Model):
    """One step of an episode's pathway as it was applied: the action, its facts, the warnings
    acknowledged (rule -> note), when and by whom."""

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="pathway_events")
    action = models.CharField(max_length=40)
    facts = models.JSONField(default=dict)
    acknowledged = models.JSONField(default=dict)
    stage_before = models.CharField(max_length=30)
    stage_after = models.CharField(max_length=30)
    recorded_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["recorded_at", "id"]


class AlarmReport(models.Model):
    """An alarm a patient reported (the pump beeping). It stays open until a clinician
    acknowledges it, with what was done."""

    class Kind(models.TextChoices):
        LOW_RESERVOIR = "low_reservoir", "Low reservoir (single tone)"
        EMPTY = "empty", "Medication no longer flowing (two-tone)"
        ERI = "eri", "Replacement needed within 90 days"
        MOTOR_STALL = "motor_stall", "Motor stall"
        OTHER = "other", "Other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    implant = models.ForeignKey(Implant, on_delete=models.PROTECT, related_name="alarms")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reported_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=150)
    note = models.CharField(max_length=500, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True, db_index=True)
    acknowledged_by = models.CharField(max_length=150, blank=True)
    action_taken = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-reported_at"]


class ClinicLimit(Versioned):
    """A clinic's own drug-library limit for a drug (painpump.core.clinic_limits): added to the
    packaged limits, never replacing them, so it only tightens; hard stops, soft warns. The value
    is kept in the unit it was typed in ("%" for a step in percent); `source` is the clinic's
    policy document. Archived, never deleted. A new or changed hard limit (or a change of one)
    applies only once a second clinician has approved it (`approved_at`); until then it is
    pending and the limit it `replaces`, if any, stays in force."""

    class Severity(models.TextChoices):
        HARD = "hard", "Hard: stops"
        SOFT = "soft", "Soft: warns, needs an acknowledgement"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    drug = models.CharField(max_length=40)
    rule = models.CharField(max_length=40)
    value = models.DecimalField(max_digits=14, decimal_places=6)
    unit = models.CharField(max_length=12)
    severity = models.CharField(max_length=4, choices=Severity.choices)
    source = models.CharField(max_length=500)
    set_by = models.CharField(max_length=150)
    set_at = models.DateTimeField()
    archived_at = models.DateTimeField(null=True, blank=True, db_index=True)
    archived_by = models.CharField(max_length=150, blank=True)
    idempotency_key = models.CharField(max_length=80, unique=True, null=True, blank=True)
    approved_by = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    replaces = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replacements"
    )
    # The removal of a hard limit in force, asked for and waiting for its second approver (the
    # limit keeps applying until then):
    archive_requested_by = models.CharField(max_length=150, blank=True)
    archive_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["drug", "rule", "set_at"]

    @property
    def pending(self) -> bool:
        """Waiting for its second approver (not applied by the checks yet)."""
        return self.approved_at is None and self.archived_at is None

    @property
    def removal_pending(self) -> bool:
        """Its removal asked for and waiting for a second approver (still applied)."""
        return bool(self.archive_requested_by) and self.archived_at is None

    @property
    def awaiting(self) -> str:
        """Who the second approver checks against: the one who set it, or asked to remove it."""
        return self.archive_requested_by if self.removal_pending else self.set_by


class AccountVersion(models.Model):
    """The version of a user account, so that two admins editing the same account conflict
    instead of overwriting each other (Django's User has no version). Created on first edit."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="account_version",
    )
    version = models.PositiveIntegerField(default=1)


class RoleGrant(models.Model):
    """A role asked for an account by one admin. The account holds it only once a second admin
    approves (neither the one who asked nor the account's holder); until then nothing changes.
    A declined or withdrawn request stays as a record."""

    class Status(models.TextChoices):
        PENDING = "pending", "waiting for a second admin"
        APPROVED = "approved", "approved"
        DECLINED = "declined", "declined or withdrawn"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_grants"
    )
    role = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.CharField(max_length=150)
    requested_at = models.DateTimeField()
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(status="pending"),
                name="one_pending_grant_per_role",
            )
        ]


class AccountAdoption(models.Model):
    """An account made outside painpump (no audit entry records its creation) that one admin
    asks to adopt, with a typed reason: its creation is recorded (`user.adopt`) only once a
    second admin approves, while the account is still as the ask recorded it. Adopting grants
    nothing. At most one waits per account; a decided request stays as a record."""

    class Status(models.TextChoices):
        PENDING = "pending", "waiting for a second admin"
        APPROVED = "approved", "approved"
        DECLINED = "declined", "declined"
        WITHDRAWN = "withdrawn", "withdrawn"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="adoptions"
    )
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.CharField(max_length=150)
    requested_at = models.DateTimeField()
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status="pending"),
                name="one_pending_adoption_per_account",
            )
        ]


class ToleranceRequest(models.Model):
    """A wider readback tolerance asked for by one admin (rule-second-admin-tolerance): the
    settings hold it only once a second admin approves, while the tolerance in force is still
    `previous_ml`. At most one waits; a decided request stays as a record."""

    class Status(models.TextChoices):
        PENDING = "pending", "waiting for a second admin"
        APPROVED = "approved", "approved"
        DECLINED = "declined", "declined"
        WITHDRAWN = "withdrawn", "withdrawn"

    requested_ml = models.DecimalField(max_digits=4, decimal_places=3)
    previous_ml = models.DecimalField(max_digits=4, decimal_places=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.CharField(max_length=150)
    requested_at = models.DateTimeField()
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="pending"),
                name="one_pending_tolerance_request",
            )
        ]


class DemoAnchor(models.Model):
    """When `painpump demo` seeded this database (one row, only in a demo clinic): the clinic's
    day its synthetic history is relative to, the moment, the patients and the random seed. The
    demo reseeds when that day is a few days old, so its worklist stays that of a working day."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seeded_on = models.DateField()
    seeded_at = models.DateTimeField()
    patients = models.PositiveIntegerField()
    seed = models.IntegerField()


class ClinicCatheter(Versioned):
    """A catheter's volume per cm that the packaged catalog does not hold, entered by a
    pharmacist from the catheter's labeling (`source`: the document and page) and applied to an
    implant's dead volume (core.dead_volume) only once a second pharmacist or physician has
    approved it. A model has at most one entry in force and one waiting; a new figure for a model
    in force waits as its replacement. Archived, never deleted; the archiving of one in force
    waits for a second approver too."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    model = models.CharField(max_length=60)  # core.clinic_catheters.model_key: lower case
    name = models.CharField(max_length=100)
    manufacturer = models.CharField(max_length=100)
    volume_ul_per_cm = models.DecimalField(max_digits=9, decimal_places=4)
    source = models.CharField(max_length=500)
    entered_by = models.CharField(max_length=150)
    entered_at = models.DateTimeField()
    approved_by = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    replaces = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replacements"
    )
    archived_at = models.DateTimeField(null=True, blank=True, db_index=True)
    archived_by = models.CharField(max_length=150, blank=True)
    archive_requested_by = models.CharField(max_length=150, blank=True)
    archive_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["model", "entered_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model"],
                condition=models.Q(archived_at__isnull=True, approved_at__isnull=False),
                name="one_clinic_catheter_in_force_per_model",
            ),
            models.UniqueConstraint(
                fields=["model"],
                condition=models.Q(archived_at__isnull=True, approved_at__isnull=True),
                name="one_clinic_catheter_waiting_per_model",
            ),
        ]

    @property
    def pending(self) -> bool:
        """Waiting for its second approver (not applied yet)."""
        return self.approved_at is None and self.archived_at is None

    @property
    def in_force(self) -> bool:
        return self.approved_at is not None and self.archived_at is None

    @property
    def removal_pending(self) -> bool:
        """Its archiving asked for and waiting for a second approver (still applied)."""
        return bool(self.archive_requested_by) and self.archived_at is None

    @property
    def awaiting(self) -> str:
        """Who the second approver must not be: who entered it, or asked to archive it."""
        return self.archive_requested_by if self.removal_pending else self.entered_by
