"""Running the marketplace for real: backups and the restore drill, the nightly reconciliation with Stripe."""
