"""The town's figures: daily rollups of sales, refunds and commission, the manager's dashboard, the
shop's period figures, their charts (server-drawn SVG) and exports (CSV, the council's monthly PDF)."""
