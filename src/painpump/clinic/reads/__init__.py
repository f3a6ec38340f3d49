"""The clinic's reads: charts, worklists, reports, calendars, audit queries and previews, each an
audited read that computes nothing core does not."""
