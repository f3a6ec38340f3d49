"""`painpump manage <command>` commands of the API app."""
