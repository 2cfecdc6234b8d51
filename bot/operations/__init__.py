"""operations stage of the data flow."""
