"""The native HTTP API under `/_mqlite/`: health now; metrics and dashboard later."""
