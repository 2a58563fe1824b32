"""Privacy: consent records (service.py; terms accepted at sign-up) and account deletion,
the right to erasure (deletion.py at once, erasure.py the chunked job). Data export and import
are portability/; retention limits are not built yet."""
