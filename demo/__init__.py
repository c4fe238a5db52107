"""Demo shop: reproducible, believable data for trying every pipeline step."""
