"""Reading the county's files under the input contract: parsing, provenance, quality, quarantine."""
