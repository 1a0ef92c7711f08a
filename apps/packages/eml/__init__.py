"""EML: a hardened parser, validation against the XSDs and EML's rules, and extraction of metadata."""

from .parser import EmlParseError, parse_eml
from .validator import EML_220, Finding, ValidationResult, validate_eml

__all__ = ["EML_220", "EmlParseError", "Finding", "ValidationResult", "parse_eml", "validate_eml"]
