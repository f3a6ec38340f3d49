"""HTTP plumbing that both front doors (the REST API and the web app) use: the HTTP statuses they
answer with, the stored answers of retried writes (idempotency), the login throttle, the answer
when the database cannot serve and the security headers. It presents nothing of its own. Of
`painpump.api` it imports only the models it stores in (IdempotentRequest, LoginFailure, which
stay in the api app with their migrations); it imports nothing of `painpump.web`."""
