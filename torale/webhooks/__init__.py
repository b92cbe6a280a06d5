"""Webhook signing, delivery of one attempt, and the retry schedule."""
