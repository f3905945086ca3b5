"""Request schemas: what each operation accepts, checked at the edge (see ``base``)."""
