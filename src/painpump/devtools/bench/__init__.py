"""Benchmarks (docs/benchmarks.md): `twin` (`painpump bench`), `clinic` (`painpump bench-clinic`),
`web` (`painpump bench-web`)."""
