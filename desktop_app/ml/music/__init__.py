"""Music models: the melody transformer and the phrase VAE."""
