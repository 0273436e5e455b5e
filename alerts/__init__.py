"""Alert emails: composing them and sending them over SMTP or into an outbox folder."""
