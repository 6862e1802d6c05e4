"""Payment providers behind one small interface; Stripe Checkout first, with a local emulator."""
