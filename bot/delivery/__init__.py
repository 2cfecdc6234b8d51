"""delivery stage of the data flow."""
