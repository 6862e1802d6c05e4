"""Facebook Messenger Platform channel (a Facebook Page's inbox)."""
