"""Reference data: the 43 forces, the censuses, police.uk's labels, areas, and the programme's profile rules."""
