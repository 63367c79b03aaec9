"""The Imagine room's widgets: image view, variation grid, latent sliders, morphs, history."""
