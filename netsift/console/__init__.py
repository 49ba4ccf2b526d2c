"""`netsift browse`: the analyst console over netsift's tables.

`tables` says what can be browsed, `grid_query` turns the grid's filter and
sort models into bound SQL, `charts` builds the plots' queries and figures,
`access` guards the server, `app` wires them into a Dash app.
"""
