"""The Train room: train or fine-tune a model on a folder of your own files (see panel.py)."""
