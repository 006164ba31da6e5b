"""The ``assay`` command line (a thin shell over ``engine``)."""
