"""Image models: the convolutional VAE and its data sets."""
