"""The Temporal worker: the journey workflow (a thin driver of the interpreter) and the
activities that touch the world (store, SMTP, SMS and push providers)."""
