"""The campaign REST API: what it reads and writes (`serializers`) and its routes (`views`)."""
