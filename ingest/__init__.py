"""Import of CSV and JSONL files into the catalog and customers (command, job and admin page)."""
