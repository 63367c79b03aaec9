"""Text models: GPT-2 and Llama family, Hugging Face folders, tokenizers, generation."""
