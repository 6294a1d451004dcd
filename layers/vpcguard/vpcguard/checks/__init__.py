"""The check catalog (docs/checks.md): one module per check, registered by decorator."""

from .base import Check, CheckMeta, all_checks, check_ids, get_check, register

__all__ = ["Check", "CheckMeta", "all_checks", "check_ids", "get_check", "register"]
