"""Loading the records into frames, keeping them current, filters, memoising and data coverage."""
