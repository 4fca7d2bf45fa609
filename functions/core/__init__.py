"""Shared building blocks of every feature: settings, errors, HTTP routing, auth context, clients."""
