"""Domain events: published after commit, to the live UI, webhooks, bots and campaigns."""
