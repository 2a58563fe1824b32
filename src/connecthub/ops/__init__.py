"""Operations: metrics, logging, tracing, error reporting and health probes."""
