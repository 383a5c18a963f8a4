"""The figures behind the dashboards: overview, volume, pathway, outcomes and reoffending."""
