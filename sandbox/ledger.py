"""Moved: the ledger lives in ``agents.ledger``."""

from agents.ledger import Ledger, LedgerWrapper, Trial  # noqa: F401
