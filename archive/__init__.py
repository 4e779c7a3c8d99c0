"""I/O around the cleaners: reading inputs, the OCFL archive, audit, export and the CLI."""
