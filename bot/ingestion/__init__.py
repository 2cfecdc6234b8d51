"""ingestion stage of the data flow."""
