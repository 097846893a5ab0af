//! Conformance tests: each guarantee of the design brief, the echo service's contract, and the
//! wire rules, checked over in-process transports.
