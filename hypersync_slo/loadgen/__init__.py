"""The open-model load driver (runs inside the Locust child process) and its launcher."""
