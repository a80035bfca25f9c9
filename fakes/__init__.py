"""Contract-faithful local stand-ins for external systems that cannot run here (Mambu, SMS)."""
