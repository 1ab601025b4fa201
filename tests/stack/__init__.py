"""The whole stack as native processes (make stack-test): LocalExecutor and CeleryExecutor."""
