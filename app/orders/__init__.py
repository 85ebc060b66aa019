"""Orders: one checkout is one ``Order`` (M-2026-000123), split into one ``VendorOrder`` per shop with
its own delivery and state, and lines whose title, price and VAT rate are frozen at purchase."""
