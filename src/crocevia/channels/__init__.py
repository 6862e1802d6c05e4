"""Channel adapters: one folder per platform, each speaking that platform's wire format."""
