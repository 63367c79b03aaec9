"""The one training loop (callbacks, checkpoints, resume, DDP) shared by every medium."""
