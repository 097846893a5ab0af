//! Cross-crate tests live in `conformance/`; this library only carries the book's chapters,
//! so that every Rust block in the book is compiled and run as a doctest.
