"""Where each rule of the therapy pathway comes from: the source its refusals and findings cite."""

DESIGN_PATHWAY = "rule-therapy-pathway, the therapy pathway"
TUMOUR_SOURCE = (
    "rule-tumour-direct-implant: tumour pain patients are implanted directly, with no test "
    "phase; khimani-narang-cancer-trialing, huntsman-2021-100-to-1, pacc-2017-trialing: "
    "skipping the trial is common practice, UNCONFIRMED in a guideline"
)
LIFE_EXPECTANCY_SOURCE = (
    "medtronic-cancer-pain-patient-selection: referral for an implanted pump needs a life "
    "expectancy > 3 months; cancernetwork-1999-neuraxial-infusion: an external system is "
    "appropriate under 3 months (SECONDARY)"
)
MIN_LIFE_EXPECTANCY_MONTHS = 3
TEST_REQUIRED_SOURCE = (
    "rule-test-phase: a test phase for spasticity and non-tumour pain, non-responders leave the "
    "pathway; gablofen-label: patients must respond to a screening dose before pump "
    "implantation (rxlist Gablofen)"
)
IMPLANT_INTERVAL_SOURCE = (
    "clinic setting, default 21 days: rule-implant-interval 'three weeks after the test phase "
    "at the earliest' (pacc-2017-trialing: no guideline value found)"
)
STAY_SOURCE = (
    "clinic setting, default 2-3 days: rule-hospital-stay 'Each hospital stay (test phase, "
    "implantation) lasts two to three days' (clinic practice, not a guideline limit); days "
    "counted as discharge date minus admission date"
)
REMOVAL_SOURCE = (
    "rule-non-responder-removal: non-responders have the catheter removed and leave the pathway"
)
TEMPORARY_CATHETER_SOURCE = (
    "rule-test-phase: the test phase runs through a temporary catheter and an external pump; "
    "the definitive catheter and pump replace them at the implantation, so the temporary "
    "catheter's removal is recorded before the implantation"
)
TBI_SOURCE = (
    "gablofen-label, lioresal-label: after traumatic brain injury wait at least 1 year before "
    "long-term ITB (rxlist Gablofen; lioresal.com/hcp/resources)"
)
SCREENING_SOURCE = (
    "lioresal-label, gablofen-label: 'Patients who do not respond to a 100 mcg intrathecal "
    "bolus should not be considered candidates' (Lioresal/Gablofen label)"
)
ORDER_SOURCE = (
    "rule-out-of-order: out-of-order events are rejected, not merged; clinical events are recorded "
    "when they have happened"
)
FAMILY_SOURCE = (
    "rule-drug-families: opioids, ziconotide, bupivacaine, clonidine for pain; baclofen for "
    "spasticity"
)
TEST_LENGTH_SOURCE = (
    "rule-clinic-setting: the test phase's length depends on the severity of the spasticity "
    "(clinic practice); no source gives the days, so the lengths per severity are placeholders "
    "shipped unverified: verify and set them for the clinic"
)
