"""Management commands of the REST API's records."""
