"""Accounts: who may sign in, how, and what each member may see and do. Pure rules over the ports in
:mod:`onyx_core.accounts.ports`; the web service's guards only call them."""
