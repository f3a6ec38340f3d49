"""Printable PDF reports (reportlab): the refill/programming session report and the clinician
summary of a patient, rendered from the plain values of painpump.clinic.reads.report_data."""
