"""One module per measurement group; each ``run(ctx)`` answers its rows of the table."""
