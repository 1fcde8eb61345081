"""What operators write: the inventory, the pipelines and their validation."""
