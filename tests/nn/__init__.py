"""The layer classes of poolnd.nn against torch.nn."""
