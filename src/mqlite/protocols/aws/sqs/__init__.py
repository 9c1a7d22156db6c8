"""SQS front-end: one module per action family, on the shared AWS wire layer."""
