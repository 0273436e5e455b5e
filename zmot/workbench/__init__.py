"""`zmot serve`: the analysts' dashboard over the warehouse, server-rendered, readable with JavaScript off."""
