"""QQ official bot API v2 channel (kind ``qq``), webhook mode."""
