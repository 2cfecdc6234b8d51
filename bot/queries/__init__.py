"""queries stage of the data flow."""
