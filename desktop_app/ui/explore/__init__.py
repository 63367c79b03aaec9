"""The latent-space explorer: the map widget, its controls, the Explore room and side docks."""
