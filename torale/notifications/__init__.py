"""Notification channels other than webhooks."""
