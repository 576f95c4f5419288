"""The Fanvue SDK: typed sync and async clients, OAuth, pagination, errors, retries (arrives with the SDK issue)."""
