"""Instagram Messaging (DMs of an Instagram professional account) channel."""
