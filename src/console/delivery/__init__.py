"""Delivery measures from the run history: how often a team deploys, how often a deployment
fails, how fast it recovers, how long a release takes to reach production, how long gates
hold deployments, and how much work is done again (README, "Delivery metrics")."""
