"""HTTP plumbing that both front doors (the REST API and the web app) use: the HTTP statuses they
answer with, the stored answers of retried writes (idempotency), the login throttle, the answer
when the database cannot serve, the security headers and the audit entries of refused
attempts kept apart from the request's rollback. It presents nothing of its own. It is a
Django app (label "plumbing") for the records it stores in, failed logins and the stored answers
(painpump.plumbing.models; their tables keep the names the api app gave them), and it imports
nothing of `painpump.api` or `painpump.web`."""
