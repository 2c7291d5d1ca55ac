"""Chinese text rules, each spelled once: width, numerals and measure words, numbering
markers, sentences, the word tokenizer, the thesaurus, token counts."""
