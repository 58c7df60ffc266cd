"""postbot: a self-hosted social-media post scheduler."""
