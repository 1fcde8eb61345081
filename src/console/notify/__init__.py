"""Notifications: what a message about a run says (`message`), and getting it to a webhook, a
mail server or a command (`deliver`); the runner decides when (`engine.notices`)."""
