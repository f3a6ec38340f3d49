"""The clinic web app: server-rendered pages (Django templates, htmx) over the clinic services."""
