"""The in-app notification inbox: each user's `in_app` rows of the outbox
(`telemed.core.notifications`), listed and marked read."""
