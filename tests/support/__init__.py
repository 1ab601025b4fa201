"""What tests share: throw-away databases (db), hand-made landing zones (scenario), a mail catcher
(mailbox), the input fuzzer (fuzz) and the child process of the fault tests (child)."""
