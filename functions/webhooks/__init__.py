"""Provider webhooks: WhatsApp Cloud API, Plivo SMS delivery reports and voice, email events."""
