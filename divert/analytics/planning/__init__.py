"""Planning: the planning model, waiting, capacity, queue, demand, forecast, staffing and launch."""
