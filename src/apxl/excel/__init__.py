"""The xlwings bridge: Excel custom functions (APXL.*), scripts/macros, and the `apxl serve` add-in server."""
