"""The shopper's cart: items from several shops, each shop with its delivery choice, and the totals
(items, delivery per shop, VAT by rate) the checkout will charge. Guests have one too (a token kept in
their session); it merges into the account's cart at log-in."""
