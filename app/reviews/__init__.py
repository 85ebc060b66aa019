"""Reviews by verified buyers: a product review per order line, a shop review per shop's part of an
order, moderated, answered by the shop, summed up per product and per shop."""
