"""Background work: the outbox dispatcher, webhook deliveries, rate limiting."""
